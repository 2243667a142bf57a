package reports

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// HCM is Asia/Ho_Chi_Minh: UTC+7, no daylight saving since 1975, so a fixed
// zone gives the same answers as the tz database without needing it.
var HCM = time.FixedZone("ICT", 7*3600)

// Week is an ISO 8601 week: reports are due weekly, and the weeks that
// straddle a new year belong to the year their Thursday is in.
type Week struct {
	Year, Num int
}

var weekRE = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)

// ParseWeek reads "2021-W30".
func ParseWeek(s string) (Week, error) {
	m := weekRE.FindStringSubmatch(s)
	if m == nil {
		return Week{}, fmt.Errorf("week %q: want YYYY-Www, e.g. 2021-W30", s)
	}
	y, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	w := Week{y, n}
	if n < 1 || WeekOf(w.Monday()) != w {
		return Week{}, fmt.Errorf("week %q: year %d has no week %d", s, y, n)
	}
	return w, nil
}

// String is the ISO form, "2021-W30".
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Num) }

// Monday is the week's first day, 00:00 in Vietnam.
func (w Week) Monday() time.Time {
	jan4 := time.Date(w.Year, 1, 4, 0, 0, 0, 0, HCM)
	back := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return jan4.AddDate(0, 0, -back+7*(w.Num-1))
}

// Deadline is Friday 13:00 in Vietnam, when the week's reports are due.
func (w Week) Deadline() time.Time {
	return w.Monday().AddDate(0, 0, 4).Add(13 * time.Hour)
}

// Period is what a week's report covers: the seven days that end at its
// deadline (from the previous Friday 13:00), so no day falls between two
// reports.
func (w Week) Period() (from, to time.Time) {
	to = w.Deadline()
	return to.AddDate(0, 0, -7), to
}

// Next and Prev are the neighbouring weeks.
func (w Week) Next() Week { return WeekOf(w.Monday().AddDate(0, 0, 7)) }

// Prev is the week before.
func (w Week) Prev() Week { return WeekOf(w.Monday().AddDate(0, 0, -7)) }

// WeekOf returns the ISO week that t falls in, in Vietnam.
func WeekOf(t time.Time) Week {
	y, n := t.In(HCM).ISOWeek()
	return Week{y, n}
}

// Current is the week whose report is being prepared at t: this week until
// its deadline passes, then the next one.
func Current(t time.Time) Week {
	w := WeekOf(t)
	if !t.Before(w.Deadline()) {
		return w.Next()
	}
	return w
}

// CurrentWeek is the week being reported now, by the service's clock.
func (s *Service) CurrentWeek() Week { return Current(s.now()) }
