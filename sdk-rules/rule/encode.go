package rule

import (
	"strconv"
	"unicode/utf8"
)

// AppendBill appends the canonical ABI v1 JSON of b to dst: fields in the
// order total, currency, scale, lines, and in each line item, quantity, unit,
// unit_price, amount, where quantity, unit and unit_price are left out when
// zero. No whitespace. The same bill always encodes to the same bytes.
func AppendBill(dst []byte, b *Bill) []byte {
	dst = append(dst, `{"total":`...)
	dst = strconv.AppendInt(dst, b.Total, 10)
	dst = append(dst, `,"currency":`...)
	dst = appendString(dst, b.Currency)
	dst = append(dst, `,"scale":`...)
	dst = strconv.AppendInt(dst, b.Scale, 10)
	dst = append(dst, `,"lines":[`...)
	for i := range b.Lines {
		l := &b.Lines[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"item":`...)
		dst = appendString(dst, l.Item)
		if l.Quantity != 0 {
			dst = append(dst, `,"quantity":`...)
			dst = strconv.AppendInt(dst, l.Quantity, 10)
		}
		if l.Unit != "" {
			dst = append(dst, `,"unit":`...)
			dst = appendString(dst, l.Unit)
		}
		if l.UnitPrice != 0 {
			dst = append(dst, `,"unit_price":`...)
			dst = strconv.AppendInt(dst, l.UnitPrice, 10)
		}
		dst = append(dst, `,"amount":`...)
		dst = strconv.AppendInt(dst, l.Amount, 10)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendError appends the canonical ABI v1 error output
// {"error":{"code":...,"message":...}} to dst.
func AppendError(dst []byte, code, message string) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = appendString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, message)
	return append(dst, "}}"...)
}

// AppendInput appends the canonical JSON of in to dst, as the host writes it:
// every field present, keys sorted, no whitespace. DecodeInput(AppendInput(nil,
// in)) equals in for any in that DecodeInput returned.
func AppendInput(dst []byte, in *Input) []byte {
	dst = append(dst, `{"abi":`...)
	dst = strconv.AppendInt(dst, in.ABI, 10)
	dst = append(dst, `,"currency":`...)
	dst = appendString(dst, in.Currency)
	dst = append(dst, `,"period":{"end":`...)
	dst = strconv.AppendInt(dst, in.Period.End, 10)
	dst = append(dst, `,"start":`...)
	dst = strconv.AppendInt(dst, in.Period.Start, 10)
	dst = append(dst, `},"price":{"effective_from":`...)
	dst = strconv.AppendInt(dst, in.Price.EffectiveFrom, 10)
	dst = append(dst, `,"unit_prices":`...)
	dst = appendQuantities(dst, in.Price.UnitPrices)
	dst = append(dst, `},"quota":`...)
	dst = appendQuantities(dst, in.Quota)
	dst = append(dst, `,"resource":{"attributes":{`...)
	for i, a := range in.Resource.Attributes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, a.Name)
		dst = append(dst, ':')
		dst = appendString(dst, a.Value)
	}
	dst = append(dst, `},"consumer":`...)
	dst = appendString(dst, in.Resource.Consumer)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, in.Resource.ID)
	dst = append(dst, `,"provider":`...)
	dst = appendString(dst, in.Resource.Provider)
	dst = append(dst, `,"spec":`...)
	dst = appendQuantities(dst, in.Resource.Spec)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, in.Resource.Type)
	dst = append(dst, `},"scale":`...)
	dst = strconv.AppendInt(dst, in.Scale, 10)
	dst = append(dst, `,"tx":{"id":`...)
	dst = appendString(dst, in.Tx.ID)
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendInt(dst, in.Tx.Time, 10)
	dst = append(dst, `},"usage":`...)
	dst = appendQuantities(dst, in.Usage)
	return append(dst, '}')
}

func appendQuantities(dst []byte, q Quantities) []byte {
	dst = append(dst, '{')
	for i, e := range q {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.Name)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, e.Value, 10)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: '"' and '\' escaped, control
// characters as \n, \r, \t or \u00XX, everything else as is, except that
// bytes that are not valid UTF-8 become U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
