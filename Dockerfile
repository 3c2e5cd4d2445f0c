# One image for every role: the arguments choose it (api, worker, cachefill,
# migrate up, seed ...). Build stage: a static, reproducible binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/vaxbook ./cmd/vaxbook

# Final stage: nothing but the binary (migrations and the page are embedded),
# run as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vaxbook /vaxbook
USER nonroot:nonroot
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/vaxbook"]
CMD ["api"]
