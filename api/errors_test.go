package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestErrorTable_HasEveryCodeAndStatusTheContractNames reads docs/contract.md:
// each "NNN `code`" it names must be an answer in the table with that status,
// and each 4xx/5xx status its HTTP API section promises must be given by some
// answer (400 also by the submission's field errors). Codes the shared
// contract announces for features not built yet (not_queue_mode,
// invitation_*) join docs/contract.md, and so this test, with their feature.
func TestErrorTable_HasEveryCodeAndStatusTheContractNames(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	contract := string(b)
	// The staff pages' answers are the admin role's, not this table's.
	if i := strings.Index(contract, "\n## Centres' staff"); i >= 0 {
		rest := contract[i+1:]
		if j := strings.Index(rest, "\n## "); j >= 0 {
			contract = contract[:i+1] + rest[j+1:]
		} else {
			contract = contract[:i+1]
		}
	}

	pairs := regexp.MustCompile("\\b([45][0-9][0-9]) `([a-z_]+)`").FindAllStringSubmatch(contract, -1)
	if len(pairs) == 0 {
		t.Fatal("docs/contract.md names no status with a code; has its wording changed?")
	}
	for _, p := range pairs {
		status, _ := strconv.Atoi(p[1])
		if !hasAnswer(func(e *apiError) bool { return e.status == status && e.code == p[2] }) {
			t.Errorf("contract: %s %s is not in the error table", p[1], p[2])
		}
	}

	start := strings.Index(contract, "## HTTP API")
	end := strings.Index(contract[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("docs/contract.md has no HTTP API section")
	}
	api := contract[start : start+1+end]
	statuses := regexp.MustCompile(`\b[45][0-9][0-9]\b`).FindAllString(api, -1)
	if len(statuses) == 0 {
		t.Fatal("the contract's HTTP API section names no error status")
	}
	for _, s := range statuses {
		status, _ := strconv.Atoi(s)
		if status == http.StatusBadRequest {
			continue // also the submission's field errors, with booking's codes
		}
		if !hasAnswer(func(e *apiError) bool { return e.status == status }) {
			t.Errorf("contract: status %d is given by no answer in the error table", status)
		}
	}
}

// TestErrorTable_EveryAnswerIsPinnedByTheGoldenFile holds the table against
// testdata/errors.golden, which TestAnswers_EveryErrorAnswerIsAsRecorded
// checks against real requests: an answer added to the table without a
// request that gives it fails here.
func TestErrorTable_EveryAnswerIsPinnedByTheGoldenFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/errors.golden")
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string // "status retry body"
	for block := range strings.SplitSeq(string(b), "\n## ") {
		lines := strings.SplitN(block, "\n", 3)
		if len(lines) < 3 {
			continue
		}
		recorded = append(recorded, lines[1]+" "+lines[2])
	}

	seen := map[string]bool{}
	for _, e := range errorTable {
		key := fmt.Sprint(e.status, e.code, e.field, e.message)
		if seen[key] {
			t.Errorf("%d %s %q: declared twice", e.status, e.code, e.message)
		}
		seen[key] = true
		if e == errInternal {
			continue // no request reaches it: it answers errors nobody declared
		}
		retry := ""
		if e.retry > 0 {
			retry = strconv.Itoa(int(e.retry.Seconds()))
		}
		head := fmt.Sprintf("%d Retry-After=%q ", e.status, retry)
		code := fmt.Sprintf(`{"error":{"code":%q,`, e.code)
		message, _ := json.Marshal(e.message)
		if i := strings.IndexByte(e.message, '%'); i >= 0 {
			message, _ = json.Marshal(e.message[:i]) // a format: its fixed start
			message = message[:len(message)-1]
		}
		found := false
		for _, r := range recorded {
			fieldOK := !strings.Contains(r, `"field":`)
			if e.field != "" {
				fieldOK = strings.Contains(r, fmt.Sprintf(`"field":%q`, e.field))
			}
			if strings.HasPrefix(r, head) && strings.Contains(r, code) && strings.Contains(r, `"message":`+string(message)) && fieldOK {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%d %s %q: no recorded answer in testdata/errors.golden", e.status, e.code, e.message)
		}
	}
}

func hasAnswer(match func(*apiError) bool) bool {
	for _, e := range errorTable {
		if match(e) {
			return true
		}
	}
	return false
}
