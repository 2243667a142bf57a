// Package venue holds the places that must display a QR code (every category
// of the directive), their registration, approval and jurisdiction rules.
package venue

import "time"

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
	{"party_office", "Cơ quan Đảng, Nhà nước, đoàn thể", "Party, state and mass-organisation office", KindPlace, "", 2 * h, false},
	{"public_service_center", "Trung tâm phục vụ hành chính công", "Public administration service centre", KindPlace, "", 1 * h, false},
	{"industrial_zone", "Khu công nghiệp, khu kinh tế", "Industrial or economic zone", KindPlace, "economic_zones", 8 * h, false},
	{"industrial_cluster", "Cụm công nghiệp", "Industrial cluster", KindPlace, "industry_trade", 8 * h, false},
	{"factory", "Nhà máy, cơ sở sản xuất", "Factory or production site", KindPlace, "industry_trade", 8 * h, false},
	{"restaurant", "Cơ sở ăn uống tại chỗ", "On-site food and drink", KindPlace, "industry_trade", 1 * h, false},
	{"karaoke", "Karaoke", "Karaoke", KindPlace, "", 2 * h, false},
	{"massage_beauty", "Massage, thẩm mỹ, làm đẹp", "Massage and beauty", KindPlace, "", 90 * m, false},
	{"gym", "Phòng tập gym, thể hình", "Gym and fitness", KindPlace, "", 90 * m, false},
	{"bank", "Ngân hàng", "Bank", KindPlace, "", 30 * m, false},
	{"post_office", "Bưu điện", "Post office", KindPlace, "ict", 30 * m, false},
	{"telecom_shop", "Cửa hàng viễn thông", "Telecom shop", KindPlace, "ict", 30 * m, false},
	{"notary", "Văn phòng công chứng", "Notary office", KindPlace, "justice", 1 * h, false},
	{"meeting", "Hội họp, hội nghị, hội thảo, tập huấn", "Meeting, conference, seminar or training", KindEvent, "", 4 * h, false},
	{"hospital", "Bệnh viện", "Hospital", KindPlace, "health", 2 * h, true},
	{"health_station", "Trạm y tế, phòng khám", "Commune health station or clinic", KindPlace, "health", 1 * h, true},
	{"apartment", "Chung cư", "Apartment building", KindPlace, "", 1 * h, false},
	{"school", "Trường học", "School", KindPlace, "education", 6 * h, true},
	{"university", "Trường đại học, cao đẳng", "University or college", KindPlace, "education", 6 * h, true},
	{"vocational_school", "Trường nghề", "Vocational school", KindPlace, "labour", 6 * h, true},
	{"bus_station", "Bến xe", "Bus station", KindPlace, "transport", 1 * h, false},
	{"port", "Cảng, bến phà, bến đò", "Port, ferry landing", KindPlace, "transport", 1 * h, false},
	{"waiting_shed", "Nhà chờ", "Waiting shed", KindPlace, "transport", 30 * m, false},
	{"bus", "Xe buýt", "Bus", KindVehicle, "transport", 1 * h, false},
	{"coach", "Xe khách", "Coach", KindVehicle, "transport", 4 * h, false},
	{"ferry", "Phà, đò", "Ferry", KindVehicle, "transport", 30 * m, false},
	{"shopping_center", "Trung tâm thương mại", "Shopping centre", KindPlace, "industry_trade", 90 * m, false},
	{"supermarket", "Siêu thị", "Supermarket", KindPlace, "industry_trade", 45 * m, false},
	{"market", "Chợ đầu mối, chợ dân sinh", "Wholesale or local market", KindPlace, "industry_trade", 45 * m, false},
	{"shop", "Cửa hàng thiết yếu", "Shop selling essentials", KindPlace, "industry_trade", 20 * m, false},
	{"funeral", "Đám tang", "Funeral", KindEvent, "", 3 * h, false},
	{"wedding", "Đám cưới", "Wedding", KindEvent, "", 3 * h, false},
	{"tourist_site", "Khu du lịch, vui chơi giải trí", "Tourist, amusement or entertainment site", KindPlace, "", 3 * h, false},
	{"worship", "Cơ sở tôn giáo, tín ngưỡng", "Place of worship", KindPlace, "", 90 * m, false},
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
