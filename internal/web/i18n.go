package web

// messages: key → {Vietnamese, English}. Vietnamese is the default everywhere.
var messages = map[string][2]string{
	"app":                     {"Phòng, chống COVID-19", "COVID-19 response"},
	"app.short":               {"anticovid", "anticovid"},
	"login":                   {"Đăng nhập", "Log in"},
	"logout":                  {"Đăng xuất", "Log out"},
	"username":                {"Tên đăng nhập", "Username"},
	"password":                {"Mật khẩu", "Password"},
	"login.failed":            {"Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."},
	"login.limited":           {"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút.", "Too many failed logins. Please try again in a few minutes."},
	"home":                    {"Trang chủ", "Home"},
	"welcome":                 {"Xin chào", "Welcome"},
	"role":                    {"Vai trò", "Role"},
	"jurisdiction":            {"Địa bàn phụ trách", "Jurisdiction"},
	"department":              {"Sở/ngành", "Department"},
	"venues":                  {"Địa điểm", "Venues"},
	"venue":                   {"Địa điểm", "Venue"},
	"name":                    {"Tên", "Name"},
	"category":                {"Loại", "Category"},
	"commune":                 {"Xã/phường", "Commune"},
	"address":                 {"Địa chỉ", "Address"},
	"status":                  {"Trạng thái", "Status"},
	"contact":                 {"Người liên hệ", "Contact"},
	"phone":                   {"Điện thoại", "Phone"},
	"capacity":                {"Sức chứa", "Capacity"},
	"created":                 {"Ngày đăng ký", "Registered"},
	"qr":                      {"Mã QR", "QR code"},
	"none":                    {"Không có dữ liệu.", "Nothing here."},
	"next":                    {"Trang sau", "Next page"},
	"prev":                    {"Trang trước", "Previous page"},
	"audit":                   {"Nhật ký truy cập dữ liệu cá nhân", "Personal data access log"},
	"audit.when":              {"Thời điểm", "When"},
	"audit.who":               {"Người truy cập", "Who"},
	"audit.action":            {"Hành động", "Action"},
	"audit.records":           {"Bản ghi", "Records"},
	"audit.purpose":           {"Mục đích", "Purpose"},
	"error":                   {"Lỗi", "Error"},
	"error.back":              {"Quay lại trang chủ", "Back to the home page"},
	"lang.switch":             {"English", "Tiếng Việt"},
	"units":                   {"Đơn vị hành chính", "Administrative units"},
	"status.pending":          {"Chờ duyệt", "Pending"},
	"status.approved":         {"Đã duyệt", "Approved"},
	"status.suspended":        {"Tạm ngưng", "Suspended"},
	"status.closed":           {"Đã đóng", "Closed"},
	"role.province_admin":     {"Quản trị cấp tỉnh", "Province administrator"},
	"role.department_officer": {"Cán bộ sở/ngành", "Department officer"},
	"role.district_officer":   {"Cán bộ cấp huyện", "District officer"},
	"role.commune_officer":    {"Cán bộ cấp xã", "Commune officer"},
	"role.health_tracer":      {"Cán bộ truy vết y tế", "Health tracer"},
	"role.venue_manager":      {"Người quản lý địa điểm", "Venue manager"},
	// Venue activity (commune and district views).
	"activity":           {"Hoạt động quét mã", "Scanning activity"},
	"activity.dead":      {"Điểm không có lượt quét trong 3 ngày", "Venues with no scan in 3 days"},
	"activity.dead.help": {"Mã QR có thể đã bị gỡ, bị che, hoặc không được dùng: cần kiểm tra tại chỗ.", "The poster may be missing, hidden or ignored: check on site."},
	"activity.7d":        {"Lượt quét 7 ngày", "Scans, 7 days"},
	"activity.3d":        {"Lượt quét 3 ngày", "Scans, 3 days"},
	"today":              {"Hôm nay", "Today"},
	"today.inside":       {"Đang ở trong", "Inside now"},
	"today.entries":      {"Lượt vào hôm nay", "Entries today"},
	"today.exits":        {"Lượt ra hôm nay", "Exits today"},
	"staff":              {"Quét mã cho người không có điện thoại thông minh", "Scan for people without a smartphone"},
	// Check-in page.
	"checkin.place":     {"Điểm kiểm soát ra vào", "Check-in point"},
	"checkin.who":       {"Thông tin người quét (chỉ nhập lần đầu)", "Your details (first time only)"},
	"checkin.in":        {"Check-in (vào)", "Check in"},
	"checkin.out":       {"Check-out (ra)", "Check out"},
	"checkin.done.in":   {"Đã check-in lúc", "Checked in at"},
	"checkin.done.out":  {"Đã check-out lúc", "Checked out at"},
	"checkin.forget":    {"Không phải tôi? Nhập thông tin khác", "Not me? Enter other details"},
	"checkin.privacy":   {"Thông tin chỉ dùng cho truy vết phòng, chống dịch và tự động xoá sau 21 ngày.", "Your details are used only for contact tracing and are deleted after 21 days."},
	"person.name":       {"Họ và tên", "Full name"},
	"person.birth_year": {"Năm sinh", "Year of birth"},
	"person.commune":    {"Nơi ở (xã/phường)", "Commune of residence"},
	"person.id_number":  {"Số CCCD/CMND (không bắt buộc)", "ID card number (optional)"},
	"personal.notice": {"Thông tin cá nhân chỉ dùng cho phòng, chống dịch. Mỗi lần xem đều được ghi nhật ký.",
		"Personal data is for epidemic control only. Every view is logged."},
}

// translate returns the message in lang, falling back to Vietnamese, then the key.
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return m[1]
	}
	return m[0]
}
