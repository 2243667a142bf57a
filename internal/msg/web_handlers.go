package msg

// The web handlers' own texts: field errors of forms and JSON bodies (in
// both languages, as the API and the pages share them), the purposes the
// personal-data access log records, and the odd text a handler draws.
func init() {
	add(map[string]Text{
		// Requests and forms shared by many screens.
		// %.0s drops, in Vietnamese, the decoder's English reason.
		"web.json.malformed":      {"JSON không hợp lệ%.0s", "Malformed JSON: %s"},
		"web.json.trailing":       {"Dữ liệu thừa sau JSON", "Trailing data after the JSON object"},
		"web.query.non_negative":  {"Phải là số nguyên không âm", "Must be a non-negative integer"},
		"web.form.whole_number":   {"Phải là số nguyên", "Must be a whole number"},
		"web.field.required":      {"Bắt buộc", "Required"},
		"web.field.unknown":       {"Trường không được hỗ trợ", "Unknown field"},
		"web.field.type":          {"Sai kiểu dữ liệu", "Wrong type"},
		"web.form.bad_datetime":   {"Ngày giờ không hợp lệ", "Invalid date and time"},
		"web.upload.choose_file":  {"Chọn tệp CSV hoặc XLSX", "Choose a CSV or XLSX file"},
		"web.upload.choose_file2": {"Chọn tệp CSV hoặc XLSX", "choose a CSV or XLSX file"},
		// Venue registration, posters and import.
		"web.register.category":          {"Chọn loại địa điểm", "Choose a category"},
		"web.register.commune":           {"Chọn xã/phường", "Choose a commune"},
		"web.register.too_long":          {"Nội dung quá dài", "Text too long"},
		"web.register.coordinates":       {"Toạ độ không hợp lệ", "Invalid coordinates"},
		"web.register.contact_phone":     {"Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0)", "Invalid phone number (10 digits starting with 0)"},
		"web.register.capacity":          {"Sức chứa phải là số nguyên", "Capacity must be a whole number"},
		"web.register.time":              {"Thời gian không hợp lệ", "Invalid time"},
		"web.register.phone":             {"Số điện thoại không hợp lệ", "Invalid phone number"},
		"web.register.outside":           {"Xã/phường không thuộc tỉnh triển khai", "Commune outside this deployment's province"},
		"web.register.password_length":   {"Mật khẩu từ 10 đến 256 ký tự", "Password must be 10 to 256 characters"},
		"web.register.password_mismatch": {"Hai mật khẩu không khớp", "The passwords differ"},
		"web.register.officer_phone":     {"Số điện thoại này đã dùng cho một tài khoản cán bộ; hãy dùng số khác", "This number belongs to an officer's account; use another"},
		"web.register.existing_account":  {"Số điện thoại này đã có tài khoản: nhập đúng mật khẩu của tài khoản đó", "This number already has an account: enter its password"},
		"web.register.other_commune":     {"Tài khoản của bạn quản lý địa điểm tại %s; địa điểm ở xã/phường khác cần số điện thoại khác", "Your account manages venues in %s; a venue elsewhere needs another phone number"},
		// The status arguments differ per language: %[1]s is the Vietnamese
		// name of the venue's status, %[2]s the English one.
		"web.poster.not_approved":     {"Chỉ địa điểm đã được duyệt mới có mã QR; địa điểm này: %[1]s", "Only approved venues have a QR code; this one is %[2]s"},
		"web.poster.per_commune":      {"In áp phích theo từng xã/phường: hãy dùng mã xã/phường", "Posters are printed per commune: use a commune code"},
		"web.poster.no_venue":         {"Xã/phường chưa có địa điểm nào đã được duyệt", "The commune has no approved venue yet"},
		"web.import.unreadable":       {"Không đọc được tệp tải lên", "Cannot read the upload"},
		"web.import.no_file":          {"Chưa chọn tệp", "No file chosen"},
		"web.purpose.venue_page":      {"Quản lý địa điểm", "venue management (page)"},
		"web.purpose.venue_api":       {"Quản lý địa điểm", "venue management (API)"},
		"web.staff.personal_qr":       {"QR cá nhân%.0s", "personal QR #%s"},
		"web.staff.unknown_phone":     {"Số điện thoại chưa đăng ký: nhập họ tên và năm sinh", "Phone not registered yet: enter the name and year of birth"},
		"web.staff.nothing":           {"Quét mã QR hoặc nhập số điện thoại", "Scan a QR code or enter a phone number"},
		"web.decl.nationality":        {"Việt Nam", "Việt Nam"},
		"web.decl.yes_no":             {"Hãy chọn Có hoặc Không", "Please answer yes or no"},
		"web.decl.pledge":             {"Hãy đánh dấu cam kết trước khi gửi", "Please tick the pledge before submitting"},
		"web.decl.form_used":          {"Biểu mẫu này đã được dùng; hãy gửi lại", "This form was already used; please submit again"},
		"web.purpose.decl_worklist":   {"Theo dõi khai báo y tế có triệu chứng/tiếp xúc", "follow-up of flagged health declarations"},
		"web.purpose.audit_who":       {"Tra nhật ký truy cập theo người", "audit log searched by person"},
		"web.purpose.case":            {"Hồ sơ ca bệnh", "case record"},
		"web.purpose.contacts_api":    {"Truy vết tiếp xúc (API)", "contact tracing (API)"},
		"web.purpose.contacts_page":   {"Truy vết tiếp xúc (trang ca bệnh)", "contact tracing (case page)"},
		"web.purpose.worklist_api":    {"Theo dõi F1/F2 (API)", "contact follow-up (API)"},
		"web.purpose.worklist_page":   {"Theo dõi F1/F2 (trang danh sách)", "contact follow-up (worklist page)"},
		"web.purpose.bluezone":        {"Truy vết F1 qua Bluezone", "Bluetooth F1 tracing"},
		"web.case_import.line_keys":   {"Khoá phải là số dòng", "Keys must be line numbers"},
		"web.bluezone.day":            {"Ngày dạng YYYY-MM-DD", "date must be YYYY-MM-DD"},
		"web.bluezone.person":         {"Mã người không hợp lệ", "invalid person id"},
		"web.bluezone.no_person":      {"Không tìm thấy người này", "no such person"},
		"web.bluezone.several":        {"Nhiều người dùng chung số điện thoại này: hãy nhập số CCCD/CMND", "several people share this phone: enter the ID card number"},
		"web.bluezone.bad_qr":         {"Không đọc được mã QR này", "this QR could not be read"},
		"web.en.key_base64":           {"Khoá không phải base64", "key is not base64"},
		"web.adoption.users_required": {"Thiếu số người dùng", "users is required"},
		"web.adoption.users_number":   {"Số người dùng phải là số", "users must be a number"},
		// %.0s drops, in Vietnamese, the English reason the week did not parse.
		"web.reports.bad_week": {"Tuần không hợp lệ (YYYY-Www, ví dụ 2021-W30)%.0s", "%s"},
		"web.camera.offline":   {"Mất tín hiệu camera", "Camera offline"},
	})
}
