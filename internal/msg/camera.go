package msg

// Quarantine-zone and camera texts.
func init() {
	add(map[string]Text{
		"camera.address_at_most_300":          {"Địa chỉ tối đa 300 ký tự", "Address at most 300 characters"},
		"camera.address_refused":              {"Địa chỉ camera trỏ vào chính máy chủ, mạng nội bộ chưa được cho phép (--camera-allow), dịch vụ metadata hoặc địa chỉ không hợp lệ", "The camera address points at the server itself, an internal network not allowed (--camera-allow), a metadata service or an invalid address"},
		"camera.probe.refused":                {"Địa chỉ bị chặn (mạng nội bộ chưa được cho phép)", "Address refused (internal network not allowed)"},
		"camera.probe.unresolved":             {"Không phân giải được tên máy", "Host name does not resolve"},
		"camera.probe.not_camera":             {"Không phải camera", "Not a camera"},
		"camera.probe.http_status":            {"Camera trả lời HTTP %dxx", "Camera answered HTTP %dxx"},
		"camera.probe.credentials":            {"Camera từ chối tên đăng nhập hoặc mật khẩu", "Camera refused the user name or password"},
		"camera.probe.timeout":                {"Camera không trả lời kịp", "Camera did not answer in time"},
		"camera.probe.unreachable":            {"Không kết nối được camera", "Cannot connect to the camera"},
		"camera.cannot_resolve":               {"Không phân giải được tên máy %s", "Cannot resolve host %s"},
		"camera.capacity_0_to_100":            {"Sức chứa từ 0 đến 100.000", "Capacity must be 0 to 100,000"},
		"camera.invalid_url":                  {"Địa chỉ URL không hợp lệ", "Invalid URL"},
		"camera.more_people_held_than":        {"Số người đang cách ly vượt sức chứa", "More people held than the capacity"},
		"camera.name_1_to_120":                {"Tên camera từ 1 đến 120 ký tự", "Name must be 1 to 120 characters"},
		"camera.name_2_to_200":                {"Tên khu cách ly từ 2 đến 200 ký tự", "Name must be 2 to 200 characters"},
		"camera.only_schemes":                 {"Chỉ chấp nhận %s", "Only %s URLs are accepted"},
		"camera.password_at_most_200":         {"Mật khẩu tối đa 200 ký tự", "Password at most 200 characters"},
		"camera.people_held_0_to":             {"Số người đang cách ly từ 0 đến 100.000", "People held must be 0 to 100,000"},
		"camera.quarantine_zone_and_camera":   {"Quản lý khu cách ly và camera", "quarantine zone and camera management"},
		"camera.quarantine_zone_watch":        {"Giám sát khu cách ly", "quarantine zone watch"},
		"camera.quarantine_zone_watch_camera": {"Giám sát khu cách ly", "quarantine zone watch (camera wall)"},
		"camera.stream_kind_rtsp_hls":         {"Loại luồng phải là rtsp, hls hoặc mjpeg", "Stream kind must be rtsp, hls or mjpeg"},
		"camera.stream_or_snapshot_url":       {"Cần địa chỉ luồng hoặc ảnh chụp", "A stream or snapshot URL is needed"},
		"camera.unknown_commune_code":         {"Mã xã/phường không hợp lệ", "Unknown commune code"},
		"camera.url_too_long":                 {"Địa chỉ quá dài", "URL too long"},
		"camera.user_name_at_most":            {"Tên đăng nhập tối đa 200 ký tự", "User name at most 200 characters"},
	})
}
