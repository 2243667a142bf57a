// Package venue holds the places that must display a QR code (every category
// of the directive), their registration, approval and jurisdiction rules.
package venue

import (
	"time"

	"anticovid/internal/msg"
)

// Kinds of venue: events have a start and an end, vehicles a plate and a route.
const (
	KindPlace   = "place"
	KindEvent   = "event"
	KindVehicle = "vehicle"
)

// Category is one kind of place the directive names. Department is the sector
// responsible (a code of auth.Departments, empty when no one department is).
type Category struct {
	Code        string        `json:"code"`
	Name        string        `json:"name"`
	NameEN      string        `json:"name_en"`
	Kind        string        `json:"kind"`
	Department  string        `json:"department,omitempty"`
	DefaultStay time.Duration `json:"-"` // closes a visit that never checked out
	Vulnerable  bool          `json:"-"` // hospitals and schools: traced first
}

const (
	m = time.Minute
	h = time.Hour
)

// Categories lists every category, workplaces first, then crowded places.
var Categories = []Category{
	{"party_office", msg.T("vi", "venue.category.party_office"), msg.T("en", "venue.category.party_office"), KindPlace, "", 2 * h, false},
	{"public_service_center", msg.T("vi", "venue.category.public_service_center"), msg.T("en", "venue.category.public_service_center"), KindPlace, "", 1 * h, false},
	{"industrial_zone", msg.T("vi", "venue.category.industrial_zone"), msg.T("en", "venue.category.industrial_zone"), KindPlace, "economic_zones", 8 * h, false},
	{"industrial_cluster", msg.T("vi", "venue.category.industrial_cluster"), msg.T("en", "venue.category.industrial_cluster"), KindPlace, "industry_trade", 8 * h, false},
	{"factory", msg.T("vi", "venue.category.factory"), msg.T("en", "venue.category.factory"), KindPlace, "industry_trade", 8 * h, false},
	{"restaurant", msg.T("vi", "venue.category.restaurant"), msg.T("en", "venue.category.restaurant"), KindPlace, "industry_trade", 1 * h, false},
	{"karaoke", msg.T("vi", "venue.category.karaoke"), msg.T("en", "venue.category.karaoke"), KindPlace, "", 2 * h, false},
	{"massage_beauty", msg.T("vi", "venue.category.massage_beauty"), msg.T("en", "venue.category.massage_beauty"), KindPlace, "", 90 * m, false},
	{"gym", msg.T("vi", "venue.category.gym"), msg.T("en", "venue.category.gym"), KindPlace, "", 90 * m, false},
	{"bank", msg.T("vi", "venue.category.bank"), msg.T("en", "venue.category.bank"), KindPlace, "", 30 * m, false},
	{"post_office", msg.T("vi", "venue.category.post_office"), msg.T("en", "venue.category.post_office"), KindPlace, "ict", 30 * m, false},
	{"telecom_shop", msg.T("vi", "venue.category.telecom_shop"), msg.T("en", "venue.category.telecom_shop"), KindPlace, "ict", 30 * m, false},
	{"notary", msg.T("vi", "venue.category.notary"), msg.T("en", "venue.category.notary"), KindPlace, "justice", 1 * h, false},
	{"meeting", msg.T("vi", "venue.category.meeting"), msg.T("en", "venue.category.meeting"), KindEvent, "", 4 * h, false},
	{"hospital", msg.T("vi", "venue.category.hospital"), msg.T("en", "venue.category.hospital"), KindPlace, "health", 2 * h, true},
	{"health_station", msg.T("vi", "venue.category.health_station"), msg.T("en", "venue.category.health_station"), KindPlace, "health", 1 * h, true},
	{"apartment", msg.T("vi", "venue.category.apartment"), msg.T("en", "venue.category.apartment"), KindPlace, "", 1 * h, false},
	{"school", msg.T("vi", "venue.category.school"), msg.T("en", "venue.category.school"), KindPlace, "education", 6 * h, true},
	{"university", msg.T("vi", "venue.category.university"), msg.T("en", "venue.category.university"), KindPlace, "education", 6 * h, true},
	{"vocational_school", msg.T("vi", "venue.category.vocational_school"), msg.T("en", "venue.category.vocational_school"), KindPlace, "labour", 6 * h, true},
	{"bus_station", msg.T("vi", "venue.category.bus_station"), msg.T("en", "venue.category.bus_station"), KindPlace, "transport", 1 * h, false},
	{"port", msg.T("vi", "venue.category.port"), msg.T("en", "venue.category.port"), KindPlace, "transport", 1 * h, false},
	{"waiting_shed", msg.T("vi", "venue.category.waiting_shed"), msg.T("en", "venue.category.waiting_shed"), KindPlace, "transport", 30 * m, false},
	{"bus", msg.T("vi", "venue.category.bus"), msg.T("en", "venue.category.bus"), KindVehicle, "transport", 1 * h, false},
	{"coach", msg.T("vi", "venue.category.coach"), msg.T("en", "venue.category.coach"), KindVehicle, "transport", 4 * h, false},
	{"ferry", msg.T("vi", "venue.category.ferry"), msg.T("en", "venue.category.ferry"), KindVehicle, "transport", 30 * m, false},
	{"shopping_center", msg.T("vi", "venue.category.shopping_center"), msg.T("en", "venue.category.shopping_center"), KindPlace, "industry_trade", 90 * m, false},
	{"supermarket", msg.T("vi", "venue.category.supermarket"), msg.T("en", "venue.category.supermarket"), KindPlace, "industry_trade", 45 * m, false},
	{"market", msg.T("vi", "venue.category.market"), msg.T("en", "venue.category.market"), KindPlace, "industry_trade", 45 * m, false},
	{"shop", msg.T("vi", "venue.category.shop"), msg.T("en", "venue.category.shop"), KindPlace, "industry_trade", 20 * m, false},
	{"funeral", msg.T("vi", "venue.category.funeral"), msg.T("en", "venue.category.funeral"), KindEvent, "", 3 * h, false},
	{"wedding", msg.T("vi", "venue.category.wedding"), msg.T("en", "venue.category.wedding"), KindEvent, "", 3 * h, false},
	{"tourist_site", msg.T("vi", "venue.category.tourist_site"), msg.T("en", "venue.category.tourist_site"), KindPlace, "", 3 * h, false},
	{"worship", msg.T("vi", "venue.category.worship"), msg.T("en", "venue.category.worship"), KindPlace, "", 90 * m, false},
}

var byCode = func() map[string]*Category {
	out := map[string]*Category{}
	for i := range Categories {
		out[Categories[i].Code] = &Categories[i]
	}
	return out
}()

// CategoryOf returns a category by code.
func CategoryOf(code string) (Category, bool) {
	c, ok := byCode[code]
	if !ok {
		return Category{}, false
	}
	return *c, true
}

// CategoriesOf returns the codes of the categories a department is responsible for.
func CategoriesOf(department string) []string {
	var out []string
	for _, c := range Categories {
		if c.Department == department {
			out = append(out, c.Code)
		}
	}
	return out
}
