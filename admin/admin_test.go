package admin_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/admin"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/pushauth/pushauthtest"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const clientID = "123-admin.apps.googleusercontent.com"

// server is the admin role over a seeded database, checking tokens against
// a stand-in of Google's issuer.
func server(t *testing.T) (string, *pushauthtest.Issuer) {
	t.Helper()
	pool := testenv.NewPool(t)
	testenv.MustSeed(t, pool,
		listing.SlotRow{SlotID: "sel-001-am", Capacity: 3, Booked: 2},
		listing.SlotRow{CenterID: "sel-002", SlotID: "sel-002-am", Capacity: 5},
	)
	if err := postgres.SetStaff(t.Context(), pool, "operator", postgres.Staff{Email: "one@centre.example", Role: postgres.RoleCentreStaff, Centers: []string{"sel-001"}}); err != nil {
		t.Fatal(err)
	}
	is := pushauthtest.New(t)
	v, err := admin.NewGoogle(t.Context(), clientID, is.Option())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(admin.NewServer(log, admin.Options{Store: postgres.NewAdmin(pool), Verifier: v, IDs: pii.Dev(), ClientID: clientID}))
	t.Cleanup(srv.Close)
	return srv.URL, is
}

func staffToken(t *testing.T, is *pushauthtest.Issuer, email, aud string) string {
	return is.Token(t, pushauthtest.Claims{Issuer: "https://accounts.google.com", Audience: aud, Email: email,
		EmailVerified: true, Expires: time.Now().Add(time.Hour)})
}

func do(t *testing.T, method, url, token, body string, csrf bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if csrf {
		req.Header.Set("X-Vaxbook-Admin", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdmin_SignInIsGooglesTokenForTheAdminClientOfListedStaff(t *testing.T) {
	t.Parallel()
	base, is := server(t)
	me := base + "/admin/api/me"
	cases := []struct {
		name, token string
		want        int
		code        string
	}{
		{"no token", "", http.StatusUnauthorized, "sign_in_required"},
		{"forged", pushauthtest.ForeignToken(t, pushauthtest.Claims{Issuer: "https://accounts.google.com", Audience: clientID, Email: "one@centre.example", EmailVerified: true, Expires: time.Now().Add(time.Hour)}), http.StatusUnauthorized, "sign_in_invalid"},
		{"another client's", staffToken(t, is, "one@centre.example", "someone-else.apps.googleusercontent.com"), http.StatusUnauthorized, "sign_in_invalid"},
		{"not staff", staffToken(t, is, "stranger@example.com", clientID), http.StatusForbidden, "not_staff"},
		{"staff, any case", staffToken(t, is, "One@Centre.example", clientID), http.StatusOK, `"sel-001"`},
	}
	for _, c := range cases {
		got, body := do(t, "GET", me, c.token, "", false)
		if got != c.want || !strings.Contains(body, c.code) {
			t.Errorf("%s: got %d %s, want %d %s", c.name, got, body, c.want, c.code)
		}
	}
}

func TestAdmin_CentreStaffAreRefusedOnAnotherCentreAndBelowBooked(t *testing.T) {
	t.Parallel()
	base, is := server(t)
	tok := staffToken(t, is, "one@centre.example", clientID)
	checks := []struct {
		name, method, path, body string
		csrf                     bool
		want                     int
		says                     string
	}{
		{"another centre's day", "GET", "/admin/api/day?center=sel-002&date=2026-12-01", "", false, http.StatusForbidden, "not_your_centre"},
		{"another centre's capacity", "POST", "/admin/api/slots/sel-002-am/capacity", `{"capacity":9}`, true, http.StatusForbidden, "not_your_centre"},
		{"another centre's close", "POST", "/admin/api/slots/sel-002-am/close", `{}`, true, http.StatusForbidden, "not_your_centre"},
		{"a change without the CSRF header", "POST", "/admin/api/slots/sel-001-am/capacity", `{"capacity":9}`, false, http.StatusForbidden, "csrf"},
		{"capacity below booked", "POST", "/admin/api/slots/sel-001-am/capacity", `{"capacity":1}`, true, http.StatusConflict, "sel-001-am"},
		{"upload naming another centre", "POST", "/admin/api/slots/upload",
			"state,state_name,center_id,center_name,address,slot_id,date,time,capacity\nselangor,Selangor,sel-002,Dewan sel-002,Jalan sel-002,sel-002-pm,2026-12-01,14:00-18:00,5\n", true,
			http.StatusBadRequest, `line 2: center_id`},
		{"upload with a bad line", "POST", "/admin/api/slots/upload",
			"state,state_name,center_id,center_name,address,slot_id,date,time,capacity\nselangor,Selangor,sel-001,Dewan sel-001,Jalan sel-001,sel-001-pm,2026-12-01,14:00-18:00,5\nselangor,Selangor,sel-001,Dewan sel-001,Jalan sel-001,sel-001-x,2026-13-01,14:00-18:00,5\n", true,
			http.StatusBadRequest, `line 3: date`},
		{"own session added", "POST", "/admin/api/slots", `{"center_id":"sel-001","date":"2026-12-02","time":"08:00-12:00","capacity":40}`, true, http.StatusCreated, `"slots":1`},
		{"own capacity", "POST", "/admin/api/slots/sel-001-am/capacity", `{"capacity":2}`, true, http.StatusOK, `"capacity":2`},
		{"own day list", "GET", "/admin/api/day?center=sel-001&date=2026-12-02", "", false, http.StatusOK, `"slot_id":"sel-001-2026-12-02-0800"`},
	}
	for _, c := range checks {
		got, body := do(t, c.method, base+c.path, tok, c.body, c.csrf)
		if got != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: got %d %s, want %d with %s", c.name, got, body, c.want, c.says)
		}
	}
}
