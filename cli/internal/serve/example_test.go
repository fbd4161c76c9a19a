package serve_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/internal/serve"
)

// A webhook receiver verifies each delivery before it acts on it: the
// Fedmeter-Signature header is t=UNIX,v1=HEX, HEX the HMAC-SHA256 of t, a
// dot and the raw body, keyed with the webhook's secret. It compares in
// constant time, and refuses a t far from its own clock so that a
// recorded delivery cannot be replayed later. Only the standard library
// is needed; serve.VerifySignature does the same.
func ExampleVerifySignature() {
	secret := []byte("the webhook's secret, from --secret-file")
	body := []byte(`{"id":"42.0","type":"bill.issued","name":"BillIssued","tx":"ab12","data":{"id":"ecs-1:000001"}}`)
	sent := time.Unix(1767225600, 0)
	header := serve.Sign(secret, sent, body) // what the server sends

	// The receiver, on its own clock a few seconds later.
	now := sent.Add(3 * time.Second)
	verify := func(header string, body []byte) error {
		var ts, sig string
		for _, part := range strings.Split(header, ",") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				sig = v
			}
		}
		t, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("no timestamp")
		}
		if d := now.Sub(time.Unix(t, 0)); d > 5*time.Minute || d < -5*time.Minute {
			return fmt.Errorf("too old or from the future: a replay?")
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(ts + "."))
		m.Write(body)
		got, err := hex.DecodeString(sig)
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			return fmt.Errorf("bad signature")
		}
		return nil
	}
	fmt.Println("as sent:", verify(header, body))
	fmt.Println("body changed:", verify(header, []byte(strings.Replace(string(body), "42.0", "43.0", 1))))
	now = sent.Add(time.Hour)
	fmt.Println("an hour later:", verify(header, body))
	fmt.Println("VerifySignature agrees:", serve.VerifySignature(secret, header, body, sent.Add(3*time.Second), 5*time.Minute))
	// Output:
	// as sent: <nil>
	// body changed: bad signature
	// an hour later: too old or from the future: a replay?
	// VerifySignature agrees: <nil>
}
