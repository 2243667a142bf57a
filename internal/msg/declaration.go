package msg

// Health-declaration texts: the form's options, its checks and personal QR codes.
func init() {
	add(map[string]Text{
		"declaration.arrival_cannot_before_departure": {"Ngày đến không được trước ngày đi", "Arrival cannot be before departure"},
		"declaration.commune_not_in_chosen":           {"Xã/phường không thuộc tỉnh/thành phố đã chọn", "Commune not in the chosen province"},
		"declaration.commune_not_in_chosen_2":         {"Xã/phường không thuộc quận/huyện đã chọn", "Commune not in the chosen district"},
		"declaration.contains_invalid_characters":     {"Có ký tự không hợp lệ", "Contains invalid characters"},
		"declaration.date_within_30_days":             {"Ngày phải trong vòng 30 ngày so với hôm nay", "The date must be within 30 days of today"},
		"declaration.district_not_in_chosen":          {"Quận/huyện không thuộc tỉnh/thành phố đã chọn", "District not in the chosen province"},
		"declaration.id_client_generated_uuid":        {"Mã tờ khai phải là UUID do thiết bị tạo", "id must be a client-generated UUID"},
		"declaration.invalid_date_yyyy_mm":            {"Ngày không hợp lệ (năm-tháng-ngày)", "Invalid date (YYYY-MM-DD)"},
		"declaration.invalid_id_number_cccd":          {"Số CCCD/CMND/hộ chiếu không hợp lệ (CCCD 12 số, CMND 9 số, hộ chiếu 1–2 chữ cái và 7–8 số)", "Invalid ID number (CCCD 12 digits, CMND 9 digits, passport 1–2 letters and 7–8 digits)"},
		"declaration.invalid_phone_number_10":         {"Số điện thoại không hợp lệ (10 số, bắt đầu bằng 0)", "Invalid phone number (10 digits starting with 0)"},
		"declaration.please_answer_question":          {"Hãy trả lời câu hỏi này", "Please answer this question"},
		"declaration.please_choose_commune":           {"Hãy chọn xã/phường/thị trấn", "Please choose a commune"},
		"declaration.please_choose_means_transport":   {"Hãy chọn phương tiện", "Please choose a means of transport"},
		"declaration.please_choose_sex":               {"Hãy chọn giới tính", "Please choose a sex"},
		"declaration.status_open_handled_or":          {"Trạng thái phải là \"open\", \"handled\" hoặc \"all\"", "status must be \"open\", \"handled\" or \"all\""},
		"declaration.travel_declaration_needs_id":     {"Khai báo di chuyển cần số CCCD/CMND/hộ chiếu", "A travel declaration needs an ID card or passport number"},
		"declaration.unknown_commune_code":            {"Mã xã/phường không tồn tại", "Unknown commune code"},
		"declaration.unknown_declaration_kind":        {"Loại tờ khai không hợp lệ", "Unknown declaration kind"},
		"declaration.unknown_province_code":           {"Mã tỉnh/thành phố không tồn tại", "Unknown province code"},
		"declaration.unknown_symptom":                 {"Triệu chứng không hợp lệ: %q", "Unknown symptom: %q"},
		"declaration.unknown_unit_code":               {"Mã đơn vị không tồn tại", "Unknown unit code"},
		"declaration.vaccine_doses_0_to":              {"Số mũi vắc xin từ 0 đến %d", "Vaccine doses must be 0 to %d"},
		"declaration.year_birth_between_and":          {"Năm sinh từ %d đến %d", "Year of birth between %d and %d"},
	})
}
