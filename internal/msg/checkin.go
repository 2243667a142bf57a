package msg

// Check-in texts.
func init() {
	add(map[string]Text{
		"checkin.choose_commune_or_district":      {"Chọn một xã/phường hoặc quận/huyện", "Choose a commune or district"},
		"checkin.direction_in_or_out":             {"Hướng phải là \"in\" hoặc \"out\"", "direction must be \"in\" or \"out\""},
		"checkin.id_client_generated_uuid":        {"Mã lượt quét phải là UUID do thiết bị tạo", "id must be a client-generated UUID"},
		"checkin.person_details_required":         {"Cần thông tin người quét", "person details are required"},
		"checkin.qr_code_was_replaced":            {"Mã QR này đã được thay bằng mã mới; hãy quét mã đang dán tại địa điểm", "This QR code was replaced; scan the current poster"},
		"checkin.remembered_person_invalid_enter": {"Thông tin người dùng đã lưu không hợp lệ; hãy nhập lại", "Remembered person is invalid; enter your details again"},
		"checkin.scan_time_in_future":             {"Giờ quét ở tương lai: hãy kiểm tra đồng hồ của điện thoại rồi quét lại", "The scan time is in the future: check your phone's clock and scan again"},
		"checkin.scan_time_too_old":               {"Lượt quét này đã quá %d giờ nên không được ghi nhận; hãy quét mã tại địa điểm khi bạn có mặt", "This scan is more than %d hours old and was not recorded; scan the code at the venue when you are there"},
		"checkin.out_before_in":                   {"Giờ ra không thể sớm hơn giờ vào; lượt ra này không được ghi nhận", "A check-out cannot come before its check-in; it was not recorded"},
		"checkin.venue_closed":                    {"Địa điểm đã đóng", "This venue is closed"},
		"checkin.venue_not_approved_yet":          {"Địa điểm chưa được xã/phường duyệt", "This venue is not approved yet"},
		"checkin.venue_suspended":                 {"Địa điểm đang bị tạm ngưng, không nhận quét mã", "This venue is suspended"},
	})
}
