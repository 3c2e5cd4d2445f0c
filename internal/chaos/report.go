package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// routes are the surge's steps, in the order the table shows their 5xx.
var routes = []string{"listppv", "submit", "status"}

func (r Row) fiveXX() string {
	s := ""
	for i, route := range routes {
		if i > 0 {
			s += "/"
		}
		s += fmt.Sprint(r.FiveXX[route])
	}
	return s
}

func (r Row) summary() string {
	verdict := "PASS"
	if !r.Pass() {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %s; accepted %d, decided %d, lost %d, over capacity %d, counters/twice %d, statuses never shown %d, retries given another reference %d; 5xx listppv/submit/status %s, no answer %d, gave up %d, found no room %d; recovered after %s",
		verdict, r.What, r.Accepted, r.Decided, r.Lost, r.OverCapacity, r.Broken, r.NeverShown, r.RetriedNewRef,
		r.fiveXX(), r.ConnErrors, r.GaveUp, r.NoRoom, r.Recovered.Round(100*time.Millisecond))
}

// WriteTable writes the rows as a Markdown table, the must-be-zero columns
// marked.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| fault (injected at) | accepted | decided | lost* | over capacity* | statuses never shown* | 5xx listppv/submit/status | no answer | gave up | found no room | decisions recovered after | |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rows {
		verdict := "pass"
		if !r.Pass() {
			verdict = "**FAIL**"
		}
		over := fmt.Sprint(r.OverCapacity)
		if r.Broken != 0 || r.RetriedNewRef != 0 {
			over += fmt.Sprintf(" (counters or people booked twice %d, retries given another reference %d)", r.Broken, r.RetriedNewRef)
		}
		fmt.Fprintf(w, "| %s (+%s) | %d | %d | %d | %s | %d | %s | %d | %d | %d | %.1f s | %s |\n",
			r.Fault, r.At, r.Accepted, r.Decided, r.Lost, over, r.NeverShown, r.fiveXX(), r.ConnErrors, r.GaveUp, r.NoRoom,
			r.Recovered.Seconds(), verdict)
	}
	fmt.Fprintln(w, "\n\\* must be 0. Found no room: the big states fill up as the run goes on, so later faults accept fewer. Over capacity counts the whole database; a row also fails if a slot's counter differs from its bookings, a person holds two, a retry got another reference, or nothing was accepted.")
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
