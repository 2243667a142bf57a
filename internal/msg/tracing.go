package msg

// Tracing-rule texts.
func init() {
	add(map[string]Text{
		"tracing.unknown_category":       {"Loại địa điểm không tồn tại", "Unknown category"},
		"tracing.days_1_to_21":           {"Số ngày theo dõi từ 1 đến 21", "Days must be 1 to 21"},
		"tracing.default_stay_range":     {"Thời gian lưu lại mặc định của %s từ 1 phút đến 48 giờ", "The default stay of %s must be 1 minute to 48 hours"},
		"tracing.default_stay_positive":  {"Thời gian lưu lại mặc định của %s phải dương", "default stay of %s must be positive"},
		"tracing.f1s_expanded_1_to":      {"Số F1 mở rộng từ 1 đến 5.000", "F1s expanded must be 1 to 5,000"},
		"tracing.f2s_per_f1_1":           {"Số F2 mỗi F1 từ 1 đến 1.000", "F2s per F1 must be 1 to 1,000"},
		"tracing.fallback_stay_positive": {"Thời gian lưu lại mặc định phải dương", "Fallback stay must be positive"},
		"tracing.m_y_ch_kh":              {"server restarted", "máy chủ khởi động lại"},
		"tracing.minimum_overlap_0_to":   {"Thời gian tiếp xúc tối thiểu từ 0 đến 24 giờ", "Minimum overlap must be 0 to 24 hours"},
		"tracing.stay_cap_1_minute":      {"Thời gian lưu lại tối đa từ 1 phút đến 48 giờ", "Stay cap must be 1 minute to 48 hours"},
		"tracing.total_f2s_1_to":         {"Tổng số F2 từ 1 đến 100.000", "Total F2s must be 1 to 100,000"},
		"tracing.within_hour_window_1":   {"Khoảng \"trong vòng một giờ\" từ 1 phút đến 6 giờ", "The within-an-hour window must be 1 minute to 6 hours"},
	})
}
