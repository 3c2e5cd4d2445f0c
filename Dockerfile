# One image for every role: the arguments choose it (api, worker, cachefill,
# migrate up, seed ...; deploy/*.yaml set them). cmd/vaxbook/deploy_test.go
# builds the binary with exactly the flags of the RUN go build line below and
# checks it is static and stamped, so keep that line one command.

# Build stage: a static binary (no cgo, so no libc to ship), paths trimmed
# from it, the version stamped from the build (cloudbuild.yaml passes the
# commit SHA).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/vaxbook ./cmd/vaxbook

# Final stage: distroless static (~2 MB: CA certificates, tzdata, passwd; no
# shell) as its unprivileged user. Nothing but the binary is copied because
# everything the roles read is inside it: the schema migrations are embedded
# (migrations/, go:embed *.sql), and so are the e-mail templates
# (internal/email) and the booking page (frontend/; Firebase Hosting serves
# it in production, `vaxbook dev` from the binary). The image is about 13 MB pushed (gzipped layers,
# what Artifact Registry stores and Cloud Run pulls) and 35 MB unpacked; the
# deploy test holds the pushed size under 30 MB.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vaxbook /vaxbook
USER nonroot:nonroot
# Cloud Run sets PORT from the service's containerPort (8080 in deploy/).
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/vaxbook"]
CMD ["api"]
