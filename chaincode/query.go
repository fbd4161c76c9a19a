package chaincode

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// scanPage reads keys in [start, end) after bookmark and keeps what f accepts,
// up to the page size. The bookmark of the result is the last key kept when
// more keys remain: pass it back for the next page.
func scanPage[T any](t *txn, start, end, pageSize, bookmark string, f func(k string, v []byte) (T, bool, error)) (*Page[T], error) {
	n, err := parsePage(pageSize)
	if err != nil {
		return nil, err
	}
	from := start
	if bookmark != "" {
		if bookmark < start || bookmark >= end {
			return nil, errf("bookmark %q is not from this query", bookmark)
		}
		from = bookmark + "\x00"
	}
	it, err := openRange(t, from, end)
	if err != nil {
		return nil, err
	}
	defer it.close()
	page := &Page[T]{Items: []T{}}
	last := ""
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, ledgerf("range query failed: %v", err)
		}
		if len(page.Items) == n {
			page.Bookmark = last
			break
		}
		item, ok, err := f(kv.GetKey(), kv.GetValue())
		if err != nil {
			return nil, corrupt(kv.GetKey(), err)
		}
		if ok {
			page.Items = append(page.Items, item)
			last = kv.GetKey()
		}
	}
	page.Count = len(page.Items)
	return page, nil
}

// rangeIter is a range query's iterator that closes only if it was not
// read to its end. On Fabric, the peer drops an iterator as soon as it has
// sent the last result (its QueryResponseGenerator), and the shim's Close
// asks it again in a round trip of its own, for nothing: a release's reads
// took five messages to the peer with it, four without. An iterator left
// before its end is still closed, or the peer would hold it until the
// transaction ends (Fabric does not close it then).
type rangeIter struct {
	shim.StateQueryIteratorInterface
	done bool // HasNext said false: the peer has dropped the iterator
}

func openRange(t *txn, start, end string) (*rangeIter, error) {
	it, err := t.stub.GetStateByRange(start, end)
	if err != nil {
		return nil, ledgerf("range query failed: %v", err)
	}
	return &rangeIter{StateQueryIteratorInterface: it}, nil
}

func (it *rangeIter) HasNext() bool {
	more := it.StateQueryIteratorInterface.HasNext()
	it.done = !more
	return more
}

func (it *rangeIter) close() {
	if !it.done {
		it.Close()
	}
}

// scanAll calls f on every key in [start, end).
func scanAll(t *txn, start, end string, f func(k string, v []byte) error) error {
	return scanN(t, start, end, math.MaxInt, f)
}

// scanN calls f for each of the first n entries of [start, end), in key
// order.
func scanN(t *txn, start, end string, n int, f func(k string, v []byte) error) error {
	it, err := openRange(t, start, end)
	if err != nil {
		return err
	}
	defer it.close()
	for ; n > 0 && it.HasNext(); n-- {
		kv, err := it.Next()
		if err != nil {
			return ledgerf("range query failed: %v", err)
		}
		if err := f(kv.GetKey(), kv.GetValue()); err != nil {
			return err
		}
	}
	return nil
}

// History returns every version of one ledger entry in the order the ledger
// gives them (Fabric v2 and the embedded ledger: newest first). kind and ref
// name the entry:
//
//	consortium  ""                 any member
//	proposal    proposal ID        any member
//	rule        code hash          any member
//	activation  resource type      any member
//	price       provider/type      any member
//	quota       provider/consumer  the two orgs
//	resource    resource ID        its provider and consumer (its state's versions)
//	bill        bill ID            its provider and consumer
func (c *Contract) History(ctx contractapi.TransactionContextInterface, kind, ref string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read ledger history")
	if err != nil {
		return "", err
	}
	var k string
	two := func(field string) (string, string, error) {
		a, b, ok := strings.Cut(ref, "/")
		if !ok {
			return "", "", errf("ref must be %s for kind %s, got %q", field, kind, ref)
		}
		return a, b, nil
	}
	switch kind {
	case "consortium":
		k = keyConsortium
	case "proposal":
		p, err := t.loadProposal(ref)
		if err != nil {
			return "", err
		}
		k = key(pfxProposal, p.ID)
	case "rule":
		if err := checkHash("ref", ref); err != nil {
			return "", err
		}
		k = key(pfxRule, ref)
	case "activation":
		if _, err := knownType(cons, "ref", ref); err != nil {
			return "", err
		}
		k = key(pfxActivation, ref)
	case "price":
		prov, typ, err := two("provider/type")
		if err != nil {
			return "", err
		}
		if err := checkOrg("ref provider", prov); err != nil {
			return "", err
		}
		if err := checkTypeName("ref type", typ); err != nil {
			return "", err
		}
		k = key(pfxPrice, prov, typ)
	case "quota":
		prov, cons, err := two("provider/consumer")
		if err != nil {
			return "", err
		}
		if err := checkOrg("ref provider", prov); err != nil {
			return "", err
		}
		if err := checkOrg("ref consumer", cons); err != nil {
			return "", err
		}
		if err := t.party("the quota "+prov+" granted "+cons, prov, cons); err != nil {
			return "", err
		}
		k = key(pfxQuota, prov, cons)
	case "resource":
		r, err := t.loadResource(ref)
		if err != nil {
			return "", err
		}
		if err := t.party("resource "+r.ID, r.Provider, r.Consumer); err != nil {
			return "", err
		}
		k = key(pfxResState, r.ID)
	case "bill":
		b, err := t.loadBill(ref)
		if err != nil {
			return "", err
		}
		if err := t.party("bill "+b.ID, b.Provider, b.Consumer); err != nil {
			return "", err
		}
		k = key(pfxBill, b.ID)
	default:
		return "", errf("kind %q is not valid: it must be consortium, proposal, rule, activation, price, quota, resource or bill", kind)
	}
	it, err := t.stub.GetHistoryForKey(k)
	if err != nil {
		return "", ledgerf("history of %s could not be read: %v", k, err)
	}
	defer it.Close()
	hist := []HistoryEntry{}
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return "", ledgerf("history of %s could not be read: %v", k, err)
		}
		e := HistoryEntry{Tx: m.GetTxId(), IsDelete: m.GetIsDelete()}
		if ts := m.GetTimestamp(); ts != nil {
			e.Time = ts.GetSeconds()
		}
		if v := m.GetValue(); len(v) > 0 {
			if json.Valid(v) {
				e.Value = json.RawMessage(v)
			} else {
				b, _ := json.Marshal(string(v))
				e.Value = b
			}
		}
		hist = append(hist, e)
	}
	return out(hist)
}
