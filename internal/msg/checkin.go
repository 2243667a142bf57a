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
		"checkin.scan_time_in_future":             {"Thời điểm quét ở tương lai", "Scan time is in the future"},
		"checkin.scan_time_older_than":            {"Thời điểm quét quá cũ (quá thời hạn lưu trữ)", "Scan time is older than the retention period"},
		"checkin.venue_closed":                    {"Địa điểm đã đóng", "This venue is closed"},
		"checkin.venue_not_approved_yet":          {"Địa điểm chưa được xã/phường duyệt", "This venue is not approved yet"},
		"checkin.venue_suspended":                 {"Địa điểm đang bị tạm ngưng, không nhận quét mã", "This venue is suspended"},
	})
}
