package msg

// The words of the personal-data access log (web/audit.go): what was done,
// and to whose data.
func init() {
	add(map[string]Text{
		"audit.action.view":                 {"Xem", "Viewed"},
		"audit.action.search":               {"Tìm kiếm", "Searched"},
		"audit.action.export":               {"Xuất dữ liệu", "Exported"},
		"audit.action.delete":               {"Xoá", "Deleted"},
		"audit.action.create":               {"Tạo mới", "Created"},
		"audit.action.update":               {"Sửa", "Changed"},
		"audit.action.end":                  {"Kết thúc", "Ended"},
		"audit.action.resend":               {"Gửi lại", "Re-sent"},
		"audit.action.change_password":      {"Đổi mật khẩu", "Changed the password"},
		"audit.action.disable":              {"Khoá tài khoản", "Disabled"},
		"audit.action.enable":               {"Mở khoá tài khoản", "Enabled"},
		"audit.action.force_reset":          {"Buộc đặt lại mật khẩu", "Forced a password reset"},
		"audit.action.revoke":               {"Thu hồi phiên đăng nhập", "Revoked sessions"},
		"audit.action.enrol_totp":           {"Đăng ký xác thực hai lớp", "Enrolled two-step sign-in"},
		"audit.action.reset_totp":           {"Đặt lại xác thực hai lớp", "Reset two-step sign-in"},
		"audit.action.recovery_code_used":   {"Dùng mã khôi phục", "Used a recovery code"},
		"audit.subject.person":              {"Thông tin người dân", "Residents' details"},
		"audit.subject.declaration":         {"Tờ khai y tế", "Health declarations"},
		"audit.subject.visit_held":          {"Lượt quét bị giữ lại", "Held check-ins"},
		"audit.subject.bluezone_contacts":   {"Tiếp xúc Bluezone", "Bluezone contacts"},
		"audit.subject.venue_contact":       {"Người liên hệ của địa điểm", "Venue contact"},
		"audit.subject.campaign_recipients": {"Người nhận chiến dịch", "Campaign recipients"},
		"audit.subject.outbox":              {"Tin nhắn gửi lỗi", "Failed messages"},
		"audit.subject.account":             {"Tài khoản cán bộ", "Official's account"},
		"audit.subject.camera_wall":         {"Màn hình camera", "Camera wall"},
		"audit.subject.camera_snapshot":     {"Ảnh camera", "Camera picture"},
		"audit.subject.camera":              {"Camera", "Camera"},
		"audit.subject.quarantine_zone":     {"Khu cách ly", "Quarantine zone"},
		"audit.subject.map_area":            {"Vùng trên bản đồ công khai", "Public map area"},
	})
}
