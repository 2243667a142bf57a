package dashboard

import "slices"

// Small counts on the public map stay hidden under every sum a reader can
// do, not only where they are printed. The published figures are tied by
// equations: a parent is the sum of its children (province = districts,
// district = communes), the 14-day total is the sum of its days, today is
// the last day of the series, and each day's map is kept by anyone who
// downloads it (so a 14-day total on two days gives one day minus another).
//
// The rules below keep every hidden count undetermined by those equations:
//
//  1. primary: a count in 1..threshold-1 is hidden;
//  2. a total under the threshold split over two or more children also
//     hides one of its zero children (otherwise two hidden children of a
//     total under 3 are read as 1 and 1; with a third, any could be 0);
//  3. complementary: in each parent = sum(children) equation of a day,
//     a shown parent has no hidden child or at least two, one of them not
//     small (two hidden counts of 1 summing to a known 2 would be read as
//     1 and 1), and a hidden parent has at least one hidden child
//     (otherwise the children sum to it); where no child can be added,
//     the parent is hidden instead;
//  4. a 14-day total is shown only when every day of its window is shown
//     for that unit, so it is the sum of figures already public and adds
//     no equation (day-over-day differences then reveal nothing new).
//
// Each day is decided from that day's counts alone, so the map of any day
// hides the same cells as the maps published before it. Every hidden cell
// is published the same way (null), whatever the reason, so a reader cannot
// tell a small count from its complement.

// unitTree is the parent → children structure of the published units.
type unitTree struct {
	root     string
	children map[string][]string // in code order
}

// protect returns the units whose count of one day is hidden.
func protect(t unitTree, n map[string]int64, th int64) map[string]bool {
	hidden := map[string]bool{}
	var primary func(u string)
	primary = func(u string) {
		if v := n[u]; v > 0 && v < th {
			hidden[u] = true
			var nonzero int
			zero := ""
			for _, c := range t.children[u] {
				if n[c] > 0 {
					nonzero++
				} else if zero == "" {
					zero = c
				}
			}
			if nonzero > 1 && zero != "" {
				hidden[zero] = true
			}
		}
		for _, c := range t.children[u] {
			primary(c)
		}
	}
	primary(t.root)
	parents := []string{t.root}
	for _, cs := range t.children[t.root] {
		if len(t.children[cs]) > 0 {
			parents = append(parents, cs)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, p := range parents {
			cs := t.children[p]
			hc, onlySmall := 0, true
			for _, c := range cs {
				if hidden[c] {
					hc++
					onlySmall = onlySmall && n[c] > 0 && n[c] < th
				}
			}
			if (hidden[p] && hc == 0) || (!hidden[p] && hc > 0 && (hc == 1 || onlySmall)) {
				if c, ok := complement(cs, n, hidden); ok {
					hidden[c] = true
				} else {
					hidden[p] = true
				}
				changed = true
			}
		}
	}
	return hidden
}

// complement picks the shown child to hide beside a hidden one: the smallest
// non-zero count (the least information lost that still leaves the hidden
// one a range), else a zero; false when every child is hidden already.
func complement(cs []string, n map[string]int64, hidden map[string]bool) (string, bool) {
	best, found := "", false
	for _, c := range cs {
		if hidden[c] {
			continue
		}
		if !found || better(n[c], n[best]) {
			best, found = c, true
		}
	}
	return best, found
}

// better orders complement candidates: non-zero before zero, then smaller.
func better(a, b int64) bool {
	if (a > 0) != (b > 0) {
		return a > 0
	}
	return a < b
}

// publicCells decides, for every unit, which of its published cells are
// hidden: one decision per day of the series (the last is today) and one per
// 14-day total. days holds each unit's PublicDays daily counts.
func publicCells(t unitTree, days map[string][]int64, th int64) (daily []map[string]bool, total map[string]bool) {
	daily = make([]map[string]bool, PublicDays)
	for i := range PublicDays {
		n := make(map[string]int64, len(days))
		for u, s := range days {
			n[u] = s[i]
		}
		daily[i] = protect(t, n, th)
	}
	total = map[string]bool{}
	for u := range days {
		if slices.ContainsFunc(daily[PublicDays-14:], func(h map[string]bool) bool { return h[u] }) {
			total[u] = true
		}
	}
	return daily, total
}
