// Package pushauthtest stands in for Google's token issuer in tests: it
// signs ID tokens shaped like Pub/Sub's push tokens with a local RSA key and
// serves the key set that idtoken fetches, so a verifier pointed at it (with
// Option) trusts exactly these tokens and nothing Google signed.
package pushauthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"google.golang.org/api/option"
)

// Account is the push identity the tokens name unless a test says otherwise.
const Account = "vaxbook-push@test-project.iam.gserviceaccount.com"

const keyID = "pushauthtest"

// Issuer signs tokens and serves their key set.
type Issuer struct {
	key *rsa.PrivateKey
	srv *httptest.Server
}

// New starts an issuer that stops when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": keyID,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	return &Issuer{key: key, srv: srv}
}

// Option points idtoken's certificate fetches (at www.googleapis.com) at
// the issuer's key set.
func (is *Issuer) Option() option.ClientOption {
	target, _ := url.Parse(is.srv.URL)
	return option.WithHTTPClient(&http.Client{Transport: redirect{target: target}})
}

type redirect struct{ target *url.URL }

func (rd redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rd.target.Scheme, rd.target.Host, rd.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// Claims are the claims of a Pub/Sub push token; change fields to forge.
type Claims struct {
	Issuer        string
	Audience      string
	Email         string
	EmailVerified bool
	Expires       time.Time
}

// PushClaims are the claims Pub/Sub would send to audience.
func PushClaims(audience string) Claims {
	return Claims{Issuer: "https://accounts.google.com", Audience: audience, Email: Account,
		EmailVerified: true, Expires: time.Now().Add(time.Hour)}
}

// Token signs c with the issuer's key.
func (is *Issuer) Token(t testing.TB, c Claims) string {
	t.Helper()
	return sign(t, is.key, c)
}

// ForeignToken signs c with a key the issuer does not publish: a forgery.
func ForeignToken(t testing.TB, c Claims) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, key, c)
}

func sign(t testing.TB, key *rsa.PrivateKey, c Claims) string {
	t.Helper()
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": keyID})
	body, _ := json.Marshal(map[string]any{
		"iss": c.Issuer, "aud": c.Audience, "azp": "1234567890", "sub": "1234567890",
		"email": c.Email, "email_verified": c.EmailVerified,
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": c.Expires.Unix(),
	})
	signed := b64(head) + "." + b64(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
