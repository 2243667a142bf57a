package msg

// The safe messages every error maps to.
func init() {
	add(map[string]Text{
		"errs.conflict":          {"Xung đột dữ liệu", "Conflict"},
		"errs.forbidden":         {"Không có quyền truy cập", "Forbidden"},
		"errs.internal_error":    {"Lỗi hệ thống", "Internal error"},
		"errs.invalid_input":     {"Dữ liệu không hợp lệ", "Invalid input"},
		"errs.login_required":    {"Cần đăng nhập", "Login required"},
		"errs.not_found":         {"Không tìm thấy", "Not found"},
		"errs.request_too_large": {"Dữ liệu gửi lên quá lớn", "Request too large"},
		"errs.too_many_requests": {"Quá nhiều yêu cầu, thử lại sau", "Too many requests"},
		"errs.unavailable":       {"Hệ thống tạm thời gián đoạn, vui lòng thử lại sau ít phút", "Temporarily unavailable, please try again in a few minutes"},
	})
}
