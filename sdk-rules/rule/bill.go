package rule

import (
	"strconv"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
)

// MaxLines is the most lines a bill may have (host Profile.MaxLines).
const MaxLines = 1000

// Bill is a rule's output: Total minor units of Currency at Scale, itemized by
// Lines whose amounts sum to Total. Build one with NewBill and Add, which keep
// Total right and check for overflow.
type Bill struct {
	Total    int64
	Currency string
	Scale    int64
	Lines    []Line
}

// Line is one item of a bill. Quantity, Unit and UnitPrice are informative and
// left out of the output when zero; Amount is what counts. A negative Amount is
// a discount.
type Line struct {
	Item      string
	Quantity  int64
	Unit      string
	UnitPrice int64
	Amount    int64
}

// NewBill returns an empty bill in the input's currency and scale.
func NewBill(in *Input) *Bill {
	return &Bill{Currency: in.Currency, Scale: in.Scale}
}

// Add appends a line and adds its amount to the total, or returns an
// "overflow" error naming the line.
func (b *Bill) Add(l Line) error {
	t, err := money.Add(b.Total, l.Amount)
	if err != nil {
		return NewError(CodeOverflow, "bill total overflows int64 when adding line "+strconv.Quote(l.Item))
	}
	b.Total = t
	b.Lines = append(b.Lines, l)
	return nil
}

// check returns an "invalid_bill" error if the bill breaks ABI v1.
func (b *Bill) check() error {
	if !validCurrency(b.Currency) {
		return NewError(CodeInvalidBill, "bill currency "+strconv.Quote(b.Currency)+" is not 1 to 8 upper-case letters")
	}
	if b.Scale < 0 || b.Scale > 18 {
		return NewError(CodeInvalidBill, "bill scale "+strconv.FormatInt(b.Scale, 10)+" is not between 0 and 18")
	}
	if len(b.Lines) > MaxLines {
		return NewError(CodeInvalidBill, "bill has "+strconv.Itoa(len(b.Lines))+" lines, more than "+strconv.Itoa(MaxLines))
	}
	if b.Total < 0 {
		return NewError(CodeInvalidBill, "bill total "+strconv.FormatInt(b.Total, 10)+" is negative")
	}
	// Sum in order, failing on any partial overflow, as the host does.
	var sum int64
	for i, l := range b.Lines {
		if l.Item == "" {
			return NewError(CodeInvalidBill, "bill line "+strconv.Itoa(i+1)+" has no item")
		}
		s, err := money.Add(sum, l.Amount)
		if err != nil {
			return NewError(CodeInvalidBill, "bill line amounts overflow int64 at line "+strconv.Itoa(i+1))
		}
		sum = s
	}
	if sum != b.Total {
		return NewError(CodeInvalidBill, "bill line amounts sum to "+strconv.FormatInt(sum, 10)+
			", not to the total "+strconv.FormatInt(b.Total, 10))
	}
	return nil
}

func validCurrency(c string) bool {
	if len(c) < 1 || len(c) > 8 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
