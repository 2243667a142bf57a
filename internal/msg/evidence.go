package msg

// Evidence grades (issue #15) as tracing pages, worklists and exports show
// them, and the declaration's proof step.
func init() {
	add(map[string]Text{
		"cases.proof.0":         {"Chưa xác minh", "Unverified"},
		"cases.proof.1":         {"Đã xác minh SĐT", "Phone verified"},
		"cases.proof.2":         {"Cán bộ đã kiểm tra", "Checked by staff"},
		"cases.proof.0.hint":    {"Chưa xác minh: không tự động nhắn tin; cán bộ gọi điện xác minh trước", "Unverified: no automatic message; an officer calls first"},
		"cases.export.proof":    {"Xác minh", "Verified"},
		"cases.unverified_left": {"%d người tiếp xúc chưa xác minh: không được nhắn tin tự động, cần cán bộ gọi điện.", "%d unverified contacts: not messaged automatically, an officer must call them."},
	})
}
