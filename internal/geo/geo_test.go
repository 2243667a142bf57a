package geo

import "testing"

func TestCounts(t *testing.T) {
	var p, d, c int
	for _, u := range byCode {
		switch u.Level {
		case "province":
			p++
		case "district":
			d++
		case "commune":
			c++
		}
	}
	if p != 63 || d != 713 || c != 11160 {
		t.Fatalf("got %d provinces, %d districts, %d communes; want 63, 713, 11160", p, d, c)
	}
}

func TestLongAn(t *testing.T) {
	u, ok := Get("80")
	if !ok || u.Name != "Tỉnh Long An" {
		t.Fatalf("Get(80) = %+v, %v", u, ok)
	}
	ds := Children("80")
	if len(ds) != 15 || ds[0].Code != "794" || ds[14].Code != "808" {
		t.Fatalf("Long An districts: %d, first %v last %v", len(ds), ds[0], ds[len(ds)-1])
	}
	if n := len(Communes("80")); n != 192 {
		t.Fatalf("Long An communes = %d, want 192", n)
	}
}

func TestContains(t *testing.T) {
	commune := Communes("794")[0].Code
	cases := []struct {
		anc, code string
		want      bool
	}{
		{"80", commune, true},
		{"794", commune, true},
		{commune, commune, true},
		{"795", commune, false},
		{"01", commune, false},
		{commune, "794", false},
		{Country, commune, true},
		{"80", "nope", false},
	}
	for _, c := range cases {
		if got := Contains(c.anc, c.code); got != c.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", c.anc, c.code, got, c.want)
		}
	}
	if p := Path(commune); len(p) != 3 || p[0].Code != "80" || p[1].Code != "794" {
		t.Errorf("Path(%s) = %v", commune, p)
	}
}
