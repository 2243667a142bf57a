package demo

import "fmt"

// Words generated venues are named with, with their diacritics (bench
// venues builds its dataset from them): a kind of place, then a place name.
var (
	VenueKinds = []string{"Chợ", "Quán cơm", "Quán cà phê", "Tiệm vàng", "Nhà thuốc", "Siêu thị mini", "Trường Tiểu học", "Trạm y tế", "Tiệm tạp hóa", "Karaoke"}
	PlaceNames = []string{"Bến Lức", "Đồng Xanh", "Kim Long", "Đức Tâm", "Hòa Bình", "Phước Lợi", "Thạnh Lợi", "Mỹ Yên", "Long Hiệp", "An Thạnh"}
)

// Road is the road generated addresses are on.
const Road = "Quốc lộ 1A"

// What demo units write in their weekly reports, and a demo call note.
var (
	ReportWork = []string{
		"Đã tuyên truyền qua loa phát thanh, hướng dẫn người dân cài Bluezone và khai báo y tế.",
		"Kiểm tra việc quét mã QR tại chợ, siêu thị và bến xe; nhắc các địa điểm chưa dán mã.",
		"Tổ COVID cộng đồng đi từng nhà hỗ trợ người cao tuổi khai báo y tế.",
	}
	ReportDifficulties = []string{
		"Nhiều người cao tuổi không có điện thoại thông minh.",
		"Một số địa điểm dán mã QR nhưng không nhắc khách quét.",
		"",
	}
	ReportProposals = []string{
		"Đề nghị in thêm áp phích mã QR cho các điểm bán hàng nhỏ.",
		"",
		"Đề nghị hỗ trợ thẻ QR cá nhân cho người không có điện thoại.",
	}
	CallNote = "Đã gọi, hướng dẫn tự theo dõi sức khỏe tại nhà."
	Campaign = "Nhắc cài Bluezone và quét mã QR"
	Zone     = "Khu cách ly tập trung Trường Chính trị tỉnh"
	Cameras  = []string{"Cổng chính", "Dãy phòng A", "Sân sau"}
)

// The demo commune's door-to-door drive: its hamlets, the mass
// organisations' teams, and the lanes its households are on.
var (
	DoorHamlets = []string{"Khu phố 1", "Khu phố 2", "Ấp Chợ", "Ấp Bình Hòa"}
	DoorTeams   = []string{"Hội Liên hiệp Phụ nữ", "Đoàn Thanh niên", "Hội Cựu chiến binh"}
	doorLanes   = []string{"đường Nguyễn Hữu Thọ", "hẻm 3", "hẻm 7", "đường Phan Văn Mảng", "ngõ Chợ"}
	// Residents without a smartphone whose declarations a team filled in.
	DoorAssisted = []struct{ Name, Sex string }{{"Nguyễn Thị Hai", "female"}, {"Trần Văn Ba", "male"}, {"Lê Thị Tư", "female"}}
	Nationality  = "Việt Nam"
)

// DoorAddress is the demo address of household i of a hamlet.
func DoorAddress(i int) string {
	return fmt.Sprintf("Số %d %s", 2*i+1, doorLanes[i%len(doorLanes)])
}
