package model

import "testing"

func TestIsParameterName(t *testing.T) {
	for name, want := range map[string]bool{
		"free_gib":             true,
		"tier1_upto_gib_month": true,
		"tier12_upto_gib":      true,
		"tier1_gib_month":      false,
		"vcpu_hour":            false,
		"package_gib":          false, // a parameter only when listed
		"gib_free":             false,
		"upto_gib":             false,
	} {
		if got := IsParameterName(name); got != want {
			t.Errorf("IsParameterName(%q) = %v, want %v", name, got, want)
		}
	}
	e := PriceEntry{UnitPrices: map[string]int64{"package_gib": 500, "package_price": 900}, Parameters: []string{"package_gib"}}
	if !e.IsParameter("package_gib") || e.IsParameter("package_price") || !e.IsParameter("free_gib") {
		t.Errorf("IsParameter with Parameters %v", e.Parameters)
	}
}
