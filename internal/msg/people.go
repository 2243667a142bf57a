package msg

// People texts: the checks on a person's details.
func init() {
	add(map[string]Text{
		"people.invalid_id_card_or":      {"Số CCCD/CMND/hộ chiếu không hợp lệ", "Invalid ID card or passport number"},
		"people.invalid_phone_number":    {"Số điện thoại không hợp lệ", "Invalid phone number"},
		"people.commune_needed":          {"Chọn xã/phường nơi bạn ở", "Choose the commune you live in"},
		"people.search.what":             {"Nhập tên, số điện thoại hoặc số CCCD/CMND (tối đa 100 ký tự)", "Enter a name, a phone number or an ID number (at most 100 characters)"},
		"people.known.what":              {"Nhập số điện thoại (10 số) hoặc số CCCD/CMND/hộ chiếu", "Enter a phone number (10 digits) or an ID card or passport number"},
		"people.invalid_phone_number_10": {"Số điện thoại không hợp lệ (10 số, bắt đầu bằng 0)", "Invalid phone number (10 digits starting with 0)"},
		"people.name_2_to_100":           {"Họ tên từ 2 đến 100 ký tự", "Name must be 2 to 100 characters"},
		"people.unknown_commune_code":    {"Mã xã/phường không hợp lệ", "Unknown commune code"},
		"people.year_birth_between_and":  {"Năm sinh từ %d đến %d", "Year of birth between %d and %d"},
	})
}
