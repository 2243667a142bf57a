package msg

// Venue poster texts: the printed PDF and QR code checks.
func init() {
	add(map[string]Text{
		"poster.1_open_phone_camera":       {"1. Mở camera điện thoại hoặc ứng dụng quét mã QR.", "1. Open the phone's camera or a QR scanner app."},
		"poster.2_scan_code_when":          {"2. Quét mã này khi vào và khi ra.", "2. Scan this code when you come in and when you leave."},
		"poster.3_make_health_declaration": {"3. Khai báo y tế nếu được hỏi.", "3. Make a health declaration if asked."},
		"poster.address":                   {"Địa chỉ: ", "Address: "},
		"poster.entry_and_exit_qr":         {"Mã QR điểm kiểm soát ra vào", "Entry and exit QR code"},
		"poster.entry_and_exit_qr_2":       {"MÃ QR ĐIỂM KIỂM SOÁT RA VÀO", "ENTRY AND EXIT QR CODE"},
		"poster.how_to_check_in":           {"HƯỚNG DẪN · HOW TO CHECK IN", "HOW TO CHECK IN"},
		"poster.missing_qr_content":        {"Thiếu địa chỉ cho mã QR", "Missing QR content"},
		"poster.no_venue_selected":         {"Chưa chọn địa điểm nào", "No venue selected"},
		"poster.scan_when_you_come":        {"QUÉT MÃ KHI VÀO VÀ RA", "SCAN WHEN YOU COME IN AND LEAVE"},
		"poster.size_pixels":               {"Kích thước phải từ %d đến %d điểm ảnh", "Size must be %d to %d pixels"},
		"poster.too_long_qr_code":          {"Nội dung quá dài cho một mã QR", "Too long for a QR code"},
	})
}
