package client

import "testing"

func TestEventPos(t *testing.T) {
	for _, s := range []string{"", ".", "1.", ".1", "-1.0", "+1.0", "1.+0", "1.4294967296", "x", "1.0.0", "18446744073709551616"} {
		if _, err := ParseEventPos(s); KindOf(err) != KindInvalid {
			t.Errorf("ParseEventPos(%q): %v, want an invalid argument", s, err)
		}
	}
	p, err := ParseEventPos("12.3")
	if err != nil || p != (EventPos{12, 3}) || p.String() != "12.3" || p.Next() != (EventPos{12, 4}) {
		t.Fatalf("12.3: %v %v", p, err)
	}
	if p, _ := ParseEventPos("7"); p != (EventPos{7, 0}) {
		t.Fatalf("7: %v", p)
	}
	if !(EventPos{1, 9}).Less(EventPos{2, 0}) || (EventPos{2, 0}).Less(EventPos{1, 9}) || (EventPos{2, 1}).Less(EventPos{2, 1}) {
		t.Fatal("Less")
	}
}

func FuzzParseEventPos(f *testing.F) {
	for _, s := range []string{"0.0", "12.3", "7", "", "1.x", "18446744073709551615.4294967295"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseEventPos(s)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		q, err := ParseEventPos(p.String())
		if err != nil || q != p {
			t.Fatalf("%q read as %v, which reads back as %v (%v)", s, p, q, err)
		}
	})
}
