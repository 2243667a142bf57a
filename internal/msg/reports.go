package msg

// Weekly-report texts: checks, exports and the e-mails.
func init() {
	add(map[string]Text{
		"reports.at_most_5_000":                   {"Tối đa 5.000 ký tự", "At most 5,000 characters"},
		"reports.between_0_and_1":                 {"Số liệu phải từ 0 đến 1.000.000.000", "Must be between 0 and 1,000,000,000"},
		"reports.cannot_exceed_venues_registered": {"Số địa điểm quét mã không thể lớn hơn số đã đăng ký", "Cannot exceed the venues registered"},
		"reports.invalid_email_address":           {"Địa chỉ thư không hợp lệ", "Invalid email address"},
		"reports.required":                        {"Cần nhập nội dung", "Required"},
		"reports.week_has_not_started":            {"Chưa đến tuần báo cáo này", "This week has not started yet"},
	})
}
