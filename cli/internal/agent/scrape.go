package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxScrape bounds one scrape's body: an endpoint is untrusted.
const maxScrape = 32 << 20

// scrapeLoop fetches u every ScrapeInterval and sends the samples its
// rules name. A sample without a timestamp is stamped with the scrape's
// time.
func (ag *agent) scrapeLoop(ctx context.Context, u string, out chan<- []Sample) {
	hc := &http.Client{Timeout: max(ag.o.ScrapeInterval, time.Second)}
	rules := rulesBySample(ag.o.Config)
	t := time.NewTicker(ag.o.ScrapeInterval)
	defer t.Stop()
	for {
		ss, err := ag.scrape(ctx, hc, u, rules)
		if err != nil {
			ag.m.ScrapeErrors.Add(1)
			ag.logf("scrape %s: %v", u, err)
		} else if len(ss) > 0 {
			select {
			case out <- ss:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ag *agent) scrape(ctx context.Context, hc *http.Client, u string, rules map[string]int) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	now := ag.o.Now().UnixMilli()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrape+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxScrape {
		return nil, fmt.Errorf("the exposition is larger than %d bytes", maxScrape)
	}
	om := strings.Contains(resp.Header.Get("Content-Type"), "application/openmetrics-text")
	ps, err := ParsePromText(body, om)
	if err != nil {
		return nil, err
	}
	return ag.promSamples(ps, rules, now), nil
}

// promSamples keeps the samples a rule names, with a resource label and a
// readable value; the others are counted.
func (ag *agent) promSamples(ps []PromSample, rules map[string]int, now int64) []Sample {
	var out []Sample
	label := ag.o.Config.Labels.Resource
	for _, p := range ps {
		rule, ok := rules[p.Name]
		if !ok {
			ag.m.SamplesIgnored.Add(1)
			continue
		}
		res := p.Labels[label]
		v, err := ParseDecimal([]byte(p.Value), ag.o.Config.Metrics[rule].Scale)
		if res == "" || err != nil {
			ag.m.SamplesInvalid.Add(1)
			continue
		}
		t := now
		if p.HasTS {
			t = p.TimeMS
		}
		out = append(out, Sample{Resource: res, Rule: rule, Time: t, Value: v})
	}
	return out
}
