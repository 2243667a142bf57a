package msg

// Dashboard texts: public-map areas and figure look-ups.
func init() {
	add(map[string]Text{
		"dashboard.end_after_start":             {"Thời điểm kết thúc phải sau khi bắt đầu", "The end must be after the start"},
		"dashboard.kind_lockdown_or_quarantine": {"Loại khu vực phải là phong tỏa hoặc cách ly", "Kind must be lockdown or quarantine"},
		"dashboard.label_2_to_120":              {"Tên khu vực từ 2 đến 120 ký tự", "Label must be 2 to 120 characters"},
		"dashboard.needs_commune_or_district":   {"Cần mã xã/phường hoặc quận/huyện", "Needs a commune or district code"},
		"dashboard.note_at_most_500":            {"Ghi chú tối đa 500 ký tự", "Note at most 500 characters"},
		"dashboard.public_map_area":             {"Khu vực phong tỏa, cách ly trên bản đồ công khai", "public map area"},
		"dashboard.unknown_unit_code":           {"Mã đơn vị không tồn tại", "Unknown unit code"},
	})
}
