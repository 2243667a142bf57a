package msg

// Smartphone adoption texts: Bluezone targets and smartphone-user imports.
func init() {
	add(map[string]Text{
		"adoption.1_to_10_targets":          {"Cần 1 đến 10 mục tiêu", "1 to 10 targets are needed"},
		"adoption.at_most_rows":             {"Tối đa %d dòng", "at most %d rows"},
		"adoption.date_yyyy_mm_dd":          {"Ngày dạng YYYY-MM-DD", "date must be YYYY-MM-DD"},
		"adoption.file_needs_header_row":    {"Tệp cần dòng tiêu đề và ít nhất một dòng số liệu", "the file needs a header row and at least one data row"},
		"adoption.need_commune_code_column": {"Cần cột mã xã (commune_code) và cột số người dùng điện thoại thông minh (smartphone_users)", "need a commune_code column and a smartphone_users column"},
		"adoption.one_target_per_date":      {"Mỗi ngày một mục tiêu, tỷ lệ không giảm theo thời gian", "one target per date, percentages not falling over time"},
		"adoption.percent_in_0_100":         {"Tỷ lệ trong (0, 100]", "percent must be in (0, 100]"},
		"adoption.row_commune_outside":      {"Dòng %[1]d: xã %[2]s ngoài địa bàn", "row %[1]d: commune %[3]s is outside your jurisdiction"},
		"adoption.row_commune_repeats_row":  {"Dòng %d: mã xã %s trùng dòng %d", "row %d: commune %s repeats row %d"},
		"adoption.row_unknown_commune_code": {"Dòng %d: mã xã %q không tồn tại", "row %d: unknown commune code %q"},
		"adoption.row_users_not_number":     {"Dòng %d: số người dùng %q không hợp lệ", "row %d: users %q is not a number from 0 to 10,000,000"},
		"adoption.unknown_commune_code":     {"Mã xã/phường không hợp lệ", "Unknown commune code"},
		"adoption.users_0_to_10":            {"Số người dùng từ 0 đến 10.000.000", "users must be 0 to 10,000,000"},
	})
}
