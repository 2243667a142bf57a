package demo

// Words generated venues are named with, with their diacritics (bench
// venues builds its dataset from them): a kind of place, then a place name.
var (
	VenueKinds = []string{"Chợ", "Quán cơm", "Quán cà phê", "Tiệm vàng", "Nhà thuốc", "Siêu thị mini", "Trường Tiểu học", "Trạm y tế", "Tiệm tạp hóa", "Karaoke"}
	PlaceNames = []string{"Bến Lức", "Đồng Xanh", "Kim Long", "Đức Tâm", "Hòa Bình", "Phước Lợi", "Thạnh Lợi", "Mỹ Yên", "Long Hiệp", "An Thạnh"}
)

// Road is the road generated addresses are on.
const Road = "Quốc lộ 1A"
