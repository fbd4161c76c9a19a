package app

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/serve"
	"github.com/urfave/cli/v2"
)

const webhookHelp = `A webhook receives the events its identity may read (--as: a consumer only
its own bills; governance events for members) as a POST of JSON, signed:
   Fedmeter-Signature: t=UNIX,v1=HEX
HEX is the HMAC-SHA256, keyed with the secret, of t, "." and the body; a
receiver recomputes it and refuses a t more than a few minutes off its clock
(cli/internal/serve/README.md shows a receiver). A receiver that does not
answer 2xx is tried again after 10s, 20s, 40s, ... up to an hour apart, 12
times in all; the server's delivery log keeps every delivery, so pending ones
survive a restart. Webhooks are kept in serve-webhooks.json in the ledger
folder (with --profile, beside the profile); a running server rereads it.`

func webhookFlag() cli.Flag {
	return &cli.StringFlag{Name: "webhooks", Usage: "the webhook `FILE` (default: serve-webhooks.json in the ledger folder; with --profile, PROFILE.webhooks.json)"}
}

// webhookCommand is `fedmeter serve webhook`.
func webhookCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "webhook",
		Usage:       "signed webhooks of the server's events: add, list, remove, deliveries",
		Description: webhookHelp,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a webhook acting as an identity",
				UsageText: "fedmeter serve webhook add URL --as ORG/USER --secret-file FILE [--events bill.issued,rule.*] [--note TEXT]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "secret-file", Usage: "read the HMAC secret (at least 16 bytes, one line) from `FILE`"},
					&cli.StringFlag{Name: "events", Usage: "comma-separated event `TYPES` (bill.issued, bill.pending, rule.proposed, rule.voted, rule.decided, rule.activated, rule.revoke_proposed, rule.revoked, consortium.*; default all)"},
					&cli.StringFlag{Name: "note", Usage: "what the webhook is for (`TEXT`)"},
					webhookFlag(),
				},
				Action: func(c *cli.Context) error { return st.webhookAdd(c) },
			},
			{
				Name:      "list",
				Usage:     "the webhooks (never their secrets)",
				UsageText: "fedmeter serve webhook list",
				Flags:     []cli.Flag{webhookFlag()},
				Action:    func(c *cli.Context) error { return st.webhookList(c) },
			},
			{
				Name:      "remove",
				Usage:     "remove a webhook by its ID; its pending deliveries are dropped",
				UsageText: "fedmeter serve webhook remove ID",
				Flags:     []cli.Flag{webhookFlag()},
				Action:    func(c *cli.Context) error { return st.webhookRemove(c) },
			},
			{
				Name:      "deliveries",
				Usage:     "the delivery log, newest first (also while the server runs)",
				UsageText: "fedmeter serve webhook deliveries [--status pending|delivered|failed|dropped] [--limit N]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "status", Usage: "only deliveries of this `STATUS`"},
					&cli.IntFlag{Name: "limit", Value: 50, Usage: "at most `N`"},
					webhookFlag(),
				},
				Action: func(c *cli.Context) error { return st.webhookDeliveries(c) },
			},
		},
	}
}

// webhookFile is the webhook file the flags select.
func webhookFile(c *cli.Context) string {
	if f := c.String("webhooks"); f != "" {
		return f
	}
	if p := c.String("profile"); p != "" {
		return serve.ProfileWebhookFile(p)
	}
	return serve.WebhookFile(dataDir(c))
}

func (st *state) webhookAdd(c *cli.Context) error {
	a, err := args(c, 1, 1, "URL")
	if err != nil {
		return err
	}
	sf := c.String("secret-file")
	if sf == "" {
		return usageErr(c, "%s needs --secret-file FILE: the secret that signs the deliveries", c.Command.HelpName)
	}
	b, err := os.ReadFile(sf)
	if err != nil {
		return client.Errorf(client.KindInvalid, "the secret file %s cannot be read: %v", sf, err)
	}
	as, mspID, err := serveIdentity(c)
	if err != nil {
		return err
	}
	var events []string
	if ev := strings.TrimSpace(c.String("events")); ev != "" {
		events = strings.Split(ev, ",")
	}
	h, err := serve.AddWebhook(webhookFile(c), serve.Webhook{URL: a[0], As: as, MSPID: mspID,
		Secret: strings.TrimRight(string(b), "\r\n"), Events: events, Note: c.String("note")})
	if err != nil {
		return err
	}
	h.Secret = ""
	p := st.printer(c)
	if p.json {
		return p.JSON(h)
	}
	p.Printf("webhook %s: %s as %s, events %s\n", h.ID, h.URL, h.As, eventList(h.Events))
	return nil
}

func eventList(ev []string) string {
	if len(ev) == 0 {
		return "all"
	}
	return strings.Join(ev, ",")
}

func (st *state) webhookList(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	hs, err := serve.ReadWebhooks(webhookFile(c))
	if err != nil {
		return err
	}
	for i := range hs {
		hs[i].Secret = ""
	}
	p := st.printer(c)
	if p.json {
		if hs == nil {
			hs = []serve.Webhook{}
		}
		return p.JSON(hs)
	}
	rows := make([][]string, 0, len(hs))
	for _, h := range hs {
		rows = append(rows, []string{h.ID, h.URL, h.As, eventList(h.Events), h.Created.Format(time.RFC3339), h.Note})
	}
	p.Table("no webhooks (fedmeter serve webhook add URL --as ORG/USER --secret-file FILE makes one)", []string{"ID", "URL", "AS", "EVENTS", "CREATED", "NOTE"}, rows)
	return nil
}

func (st *state) webhookRemove(c *cli.Context) error {
	a, err := args(c, 1, 1, "ID")
	if err != nil {
		return err
	}
	h, err := serve.RemoveWebhook(webhookFile(c), a[0])
	if err != nil {
		return err
	}
	h.Secret = ""
	p := st.printer(c)
	if p.json {
		return p.JSON(h)
	}
	p.Printf("removed webhook %s (%s)\n", h.ID, h.URL)
	return nil
}

func (st *state) webhookDeliveries(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	status := c.String("status")
	switch status {
	case "", serve.DeliveryPending, serve.DeliveryDelivered, serve.DeliveryFailed, serve.DeliveryDropped:
	default:
		return usageErr(c, "--status %q is not a delivery status: pending, delivered, failed or dropped", status)
	}
	if c.Int("limit") < 1 {
		return usageErr(c, "--limit must be at least 1")
	}
	ds, err := serve.ReadDeliveries(serve.DeliveryLogFile(webhookFile(c)))
	if err != nil {
		return err
	}
	out := []serve.Delivery{}
	for _, d := range ds {
		if (status == "" || d.Status == status) && len(out) < c.Int("limit") {
			out = append(out, d)
		}
	}
	p := st.printer(c)
	if p.json {
		return p.JSON(out)
	}
	rows := make([][]string, 0, len(out))
	for _, d := range out {
		next, last := "", ""
		if !d.NextAttempt.IsZero() {
			next = d.NextAttempt.UTC().Format(time.RFC3339)
		}
		if d.LastCode != 0 {
			last = strconv.Itoa(d.LastCode)
		}
		if d.LastError != "" && d.LastCode == 0 {
			last = d.LastError
		}
		rows = append(rows, []string{d.ID, d.Type, d.Status, strconv.Itoa(d.Attempts), last, next, d.URL})
	}
	p.Table("no deliveries", []string{"ID", "TYPE", "STATUS", "ATTEMPTS", "LAST", "NEXT ATTEMPT", "URL"}, rows)
	return nil
}
