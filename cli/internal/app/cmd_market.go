package app

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

func priceCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "price",
		Category: "Market",
		Usage:    "price books: a provider's unit prices per resource type (set, get, list, history)",
		Description: `A provider publishes unit prices per resource type: integers in minor units
of a currency (scale 2: cents) per named unit, e.g. vcpu_hour=12 is 0.12 CNY
per vCPU-hour. The unit names are the rule's contract with the provider
(rules/README.md lists the standard rules' units). Prices are public to
every member; old entries stay, and a bill uses the entry in force at the
start of its period.`,
		Subcommands: []*cli.Command{priceSet(st), priceGet(st), priceList(st), priceHistory(st)},
	}
}

func priceSet(st *state) *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "publish the caller's (a provider admin's) unit prices for a type",
		UsageText: "fedmeter price set TYPE --currency CODE --scale N NAME=PRICE... [--parameter NAME]... [--from TIME]\n   fedmeter price set TYPE --json '{\"currency\":\"CNY\",\"scale\":2,\"unit_prices\":{\"vcpu_hour\":12}}'",
		Description: `Example (Org1 prices its servers in CNY cents):
  fedmeter --as Org1/Admin price set ecs --currency CNY --scale 2 \
      vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80

Parameters: an entry that is a quantity, not money (a tier bound, a free
allowance, a package size), is a parameter. Names starting with free_ or
containing _upto_ (free_gib, tier1_upto_gib_month) are parameters by that
naming convention; name any other with --parameter (in --json:
"parameters":["package_gib"]). Rules read both kinds alike; fedmeter prints
parameters as plain quantities:
  fedmeter --as Org1/Admin price set storage --currency EUR --scale 2 \
      tier1_gib_month=2 tier1_upto_gib_month=1024 tier2_gib_month=1

Next: grant a consumer a quota (fedmeter quota set --help).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "currency", Usage: "currency `CODE`, 1 to 8 upper-case letters (CNY, EUR, ...)"},
			&cli.StringFlag{Name: "scale", Usage: "decimal places `N` of the amounts (2: prices in cents)"},
			&cli.StringFlag{Name: "from", Usage: "in force from `TIME` (YYYY-MM-DD, RFC 3339 or Unix seconds; default now; no backdating)"},
			&cli.StringSliceFlag{Name: "parameter", Usage: "entry `NAME` is a parameter (a quantity, not money); repeat for more"},
			&cli.StringFlag{Name: "json", Usage: "the whole price entry as `JSON` instead of --currency, --scale and NAME=PRICE"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, -1, "TYPE", "NAME=PRICE...")
			if err != nil {
				return err
			}
			pr, err := priceSetArgs(c, a)
			if err != nil {
				return err
			}
			from, err := timeArgFlag(c, "from")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.PriceBook, error) {
				return cl.SetPrice(c.Context, a[0], pr, from)
			}, func(p *printer, book *chaincode.PriceBook) {
				e := book.Entries[len(book.Entries)-1]
				for _, x := range book.Entries {
					if x.Stamp.Tx != "" && x.Stamp.Time >= e.Stamp.Time {
						e = x
					}
				}
				p.Printf("Published %s's prices for %s, in force from %s:\n", book.Provider, book.Type, ts(e.EffectiveFrom))
				printPrices(p, e)
				p.Printf("Next: grant a consumer a quota, e.g. fedmeter --as %s quota set <ConsumerMSP> max_days=365 vcpu=16\n", whoOr(c, "<Org>/Admin"))
			})
		},
	}
}

// priceSetArgs reads price set's entry: --json, or --currency, --scale and
// NAME=PRICE arguments.
func priceSetArgs(c *cli.Context, a []string) (client.Prices, error) {
	var pr client.Prices
	if j := c.String("json"); j != "" {
		if len(a) > 1 || c.String("currency") != "" || c.String("scale") != "" || len(c.StringSlice("parameter")) > 0 {
			return pr, usageErr(c, "--json gives the whole entry; drop --currency, --scale, --parameter and NAME=PRICE")
		}
		dec := json.NewDecoder(strings.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pr); err != nil {
			return pr, usageErr(c, "--json is not a price entry: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
		return pr, nil
	}
	if c.String("currency") == "" || c.String("scale") == "" {
		return pr, usageErr(c, "--currency and --scale are required, e.g. --currency CNY --scale 2")
	}
	scale, err := strconv.Atoi(c.String("scale"))
	if err != nil {
		return pr, usageErr(c, "--scale %q is not an integer (2 means amounts in hundredths)", c.String("scale"))
	}
	if len(a) < 2 {
		return pr, usageErr(c, "no unit prices given: add NAME=PRICE arguments, e.g. vcpu_hour=12")
	}
	units, err := kvInts("unit price", a[1:])
	if err != nil {
		return pr, err
	}
	return client.Prices{Currency: c.String("currency"), Scale: scale, UnitPrices: units, Parameters: c.StringSlice("parameter")}, nil
}

func priceGet(st *state) *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "show a provider's prices for a type (in force now, or at --time)",
		UsageText: "fedmeter price get PROVIDER TYPE [--time TIME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "time", Usage: "the prices in force at `TIME` (default now)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "PROVIDER", "TYPE")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*client.PriceInForce, error) {
				return cl.Price(c.Context, a[0], a[1], c.String("time"))
			}, func(p *printer, pe *client.PriceInForce) {
				p.Printf("%s's prices for %s, in force from %s:\n", pe.Provider, pe.Type, ts(pe.Entry.EffectiveFrom))
				printPrices(p, pe.Entry)
			})
		},
	}
}

func priceList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the prices in force now, of one provider or of all",
		UsageText: "fedmeter price list [PROVIDER]",
		Action: func(c *cli.Context) error {
			a, err := args(c, 0, 1, "[PROVIDER]")
			if err != nil {
				return err
			}
			prov := ""
			if len(a) == 1 {
				prov = a[0]
			}
			return show(st, c, func(cl *client.Client) ([]client.PriceInForce, error) {
				return cl.Prices(c.Context, prov)
			}, func(p *printer, list []client.PriceInForce) {
				var rows [][]string
				for _, pe := range list {
					rows = append(rows, []string{pe.Provider, pe.Type, ts(pe.Entry.EffectiveFrom), pricesLine(pe.Entry)})
				}
				p.Table("No prices yet. A provider publishes some with: fedmeter price set TYPE ...", []string{"PROVIDER", "TYPE", "FROM", "UNIT PRICES"}, rows)
			})
		},
	}
}

func priceHistory(st *state) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show every price entry a provider published for a type",
		UsageText: "fedmeter price history PROVIDER TYPE",
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "PROVIDER", "TYPE")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.PriceBook, error) {
				return cl.PriceHistory(c.Context, a[0], a[1])
			}, func(p *printer, book *chaincode.PriceBook) {
				var rows [][]string
				for _, e := range book.Entries {
					rows = append(rows, []string{ts(e.EffectiveFrom), pricesLine(e), e.By.MSP, e.Stamp.Tx})
				}
				p.Table(fmt.Sprintf("%s has published no prices for %s.", book.Provider, book.Type), []string{"FROM", "UNIT PRICES", "BY", "TX"}, rows)
			})
		},
	}
}

func whoOr(c *cli.Context, def string) string {
	if s := c.String("as"); s != "" {
		return s
	}
	return def
}

// printPrices writes a price entry: its prices as money, then, if it has
// any, its parameters (tier bounds, free allowances: plain quantities, see
// model.PriceEntry.IsParameter).
func printPrices(p *printer, e chaincode.PriceEntry) {
	prices, params := splitPrices(e)
	rows := make([][]string, len(prices))
	for i, n := range prices {
		rows[i] = []string{"  " + n, money(e.UnitPrices[n], e.Scale, e.Currency), fmt.Sprint(e.UnitPrices[n])}
	}
	p.Table("", []string{"  UNIT", "PRICE", "MINOR UNITS"}, rows)
	if len(params) == 0 {
		return
	}
	rows = make([][]string, len(params))
	for i, n := range params {
		rows[i] = []string{"  " + n, fmt.Sprint(e.UnitPrices[n])}
	}
	p.Printf("\n")
	p.Table("", []string{"  PARAMETER", "QUANTITY (not money)"}, rows)
}

// splitPrices returns an entry's unit names, sorted, in two lists: prices
// (money) and parameters (quantities).
func splitPrices(e chaincode.PriceEntry) (prices, params []string) {
	names := make([]string, 0, len(e.UnitPrices))
	for n := range e.UnitPrices {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e.IsParameter(n) {
			params = append(params, n)
		} else {
			prices = append(prices, n)
		}
	}
	return prices, params
}

// pricesLine is an entry on one line: its prices in minor units with their
// currency and scale, then its parameters, if any, as plain quantities.
func pricesLine(e chaincode.PriceEntry) string {
	prices, params := splitPrices(e)
	pm := make(map[string]int64, len(prices))
	for _, n := range prices {
		pm[n] = e.UnitPrices[n]
	}
	s := fmt.Sprintf("%s (%s, scale %d)", ints(pm), e.Currency, e.Scale)
	if len(params) > 0 {
		qm := make(map[string]int64, len(params))
		for _, n := range params {
			qm[n] = e.UnitPrices[n]
		}
		s += "; parameters " + ints(qm)
	}
	return s
}

func quotaCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "quota",
		Category: "Market",
		Usage:    "quotas: what a provider grants a consumer (set, get)",
		Description: `A provider grants each consumer limits: max_days caps each resource's
holding days; every other limit caps the sum of that spec field over the
consumer's requested and active resources at the provider. A spec field
without a limit cannot be requested. Release returns the quota.`,
		Subcommands: []*cli.Command{quotaSet(st), quotaGet(st)},
	}
}

func quotaSet(st *state) *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "grant a consumer limits at the caller's org (a provider admin)",
		UsageText: "fedmeter quota set CONSUMER NAME=LIMIT... [--valid-from TIME] [--valid-to TIME]",
		Description: `Example: fedmeter --as Org1/Admin quota set Org2MSP max_days=365 vcpu=16 memory_gib=64 system_disk_gib=100 data_disk_gib=500 public_ips=2
Replaces the previous limits and validity window (history kept). With
--valid-from/--valid-to the quota grants requests only in [from, to): a
request before from or at to or later is refused (exit code of
quota_exceeded); resources already held are not affected. Next: the
consumer requests a resource (fedmeter resource request --help).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "valid-from", Usage: "grant requests from `TIME` on (YYYY-MM-DD, RFC 3339 or Unix seconds; default: no start)"},
			&cli.StringFlag{Name: "valid-to", Usage: "grant requests before `TIME` only (exclusive; default: no end)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, -1, "CONSUMER", "NAME=LIMIT...")
			if err != nil {
				return err
			}
			limits, err := kvInts("limit", a[1:])
			if err != nil {
				return err
			}
			validFrom, err := timeArgFlag(c, "valid-from")
			if err != nil {
				return err
			}
			validTo, err := timeArgFlag(c, "valid-to")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Quota, error) {
				if validFrom != "" || validTo != "" {
					return cl.SetQuotaWindow(c.Context, a[0], limits, validFrom, validTo)
				}
				return cl.SetQuota(c.Context, a[0], limits)
			}, func(p *printer, q *chaincode.Quota) {
				p.Printf("%s granted %s a quota:\n", q.Provider, q.Consumer)
				printQuota(p, q)
			})
		},
	}
}

func quotaGet(st *state) *cli.Command {
	return &cli.Command{
		Name:        "get",
		Usage:       "show the quota a provider granted a consumer and how much is held",
		UsageText:   "fedmeter quota get PROVIDER [CONSUMER]",
		Description: `CONSUMER defaults to the caller's org. Only the two orgs may read a quota.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 2, "PROVIDER", "[CONSUMER]")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Quota, error) {
				cons := cl.MSPID()
				if len(a) == 2 {
					cons = a[1]
				}
				return cl.Quota(c.Context, a[0], cons)
			}, func(p *printer, q *chaincode.Quota) {
				p.Printf("Quota %s granted %s:\n", q.Provider, q.Consumer)
				printQuota(p, q)
			})
		},
	}
}

func printQuota(p *printer, q *chaincode.Quota) {
	names := make([]string, 0, len(q.Limits))
	for n := range q.Limits {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := make([][]string, len(names))
	for i, n := range names {
		used := fmt.Sprint(q.Used[n])
		if n == "max_days" {
			used = "(per resource)"
		}
		rows[i] = []string{"  " + n, fmt.Sprint(q.Limits[n]), used}
	}
	p.Table("  (no limits)", []string{"  LIMIT", "GRANTED", "HELD"}, rows)
	if q.ValidFrom != 0 || q.ValidTo != 0 {
		p.Printf("  valid %s to %s (exclusive)\n", ts(q.ValidFrom), ts(q.ValidTo))
	}
}
