package msg

// Account texts: user checks and the province's departments.
func init() {
	add(map[string]Text{
		"auth.3_64_characters_z":                {"Tên đăng nhập 3–64 ký tự a-z, 0-9, . _ -", "3–64 characters a-z, 0-9, . _ -"},
		"auth.department.economic_zones":        {"Ban Quản lý Khu kinh tế", "Economic Zone Authority"},
		"auth.department.education":             {"Sở Giáo dục và Đào tạo", "Department of Education and Training"},
		"auth.department.health":                {"Sở Y tế", "Department of Health"},
		"auth.department.ict":                   {"Sở Thông tin và Truyền thông", "Department of Information and Communications"},
		"auth.department.industry_trade":        {"Sở Công Thương", "Department of Industry and Trade"},
		"auth.department.justice":               {"Sở Tư pháp", "Department of Justice"},
		"auth.department.labour":                {"Sở Lao động - Thương binh và Xã hội", "Department of Labour, Invalids and Social Affairs"},
		"auth.department.police":                {"Công an tỉnh", "Provincial Police"},
		"auth.department.transport":             {"Sở Giao thông vận tải", "Department of Transport"},
		"auth.only_department_officers_have":    {"Chỉ cán bộ sở/ngành có sở/ngành", "Only department officers have a department"},
		"auth.role_needs_unit_at":               {"Vai trò %s cần đơn vị cấp %s", "role %s needs a unit at level %s"},
		"auth.unknown_administrative_unit_code": {"Mã đơn vị hành chính không tồn tại", "Unknown administrative unit code"},
		"auth.unknown_department":               {"Sở/ngành không hợp lệ", "Unknown department"},
		"auth.unknown_role":                     {"Vai trò không hợp lệ", "Unknown role"},
		"auth.username_already_taken":           {"Tên đăng nhập đã tồn tại", "Username already taken"},
	})
}
