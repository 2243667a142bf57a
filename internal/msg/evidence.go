package msg

// Evidence grades (issue #15) as tracing pages, worklists and exports show
// them, and the declaration's proof step.
func init() {
	add(map[string]Text{
		"cases.proof.0":              {"Chưa xác minh", "Unverified"},
		"cases.proof.1":              {"Đã xác minh SĐT", "Phone verified"},
		"cases.proof.2":              {"Cán bộ đã kiểm tra", "Checked by staff"},
		"cases.proof.0.hint":         {"Chưa xác minh: không tự động nhắn tin; cán bộ gọi điện xác minh trước", "Unverified: no automatic message; an officer calls first"},
		"cases.export.proof":         {"Xác minh", "Verified"},
		"decl.proof.title":           {"Xác minh số điện thoại để nhận mã QR", "Prove your phone number to get your QR"},
		"decl.proof.recorded":        {"Tờ khai đã được ghi nhận (chưa xác minh).", "Your declaration was recorded (unverified)."},
		"decl.proof.why":             {"Mã QR cá nhân chỉ được cấp khi máy này chứng minh là của chủ số điện thoại. Chỉ cần làm một lần trên mỗi máy.", "A personal QR is issued only once this device proves it belongs to the phone number's holder. Once per device is enough."},
		"decl.proof.send_to":         {"Mã 6 số sẽ được nhắn tới số điện thoại đã đăng ký: %s", "A 6-digit code will be texted to the registered phone number: %s"},
		"decl.proof.send":            {"Gửi mã xác minh", "Send the code"},
		"decl.proof.resend":          {"Gửi lại mã", "Send again"},
		"decl.proof.sent":            {"Đã gửi mã tới %s. Nhập mã để nhận mã QR.", "A code was sent to %s. Type it to get your QR."},
		"decl.proof.demo_code":       {"Chế độ thử nghiệm: mã là %s", "Demo mode: the code is %s"},
		"decl.proof.code":            {"Mã xác minh", "Code"},
		"decl.proof.check":           {"Xác minh", "Verify"},
		"decl.proof.wrong_code":      {"Mã không đúng hoặc đã hết hạn. Kiểm tra tin nhắn hoặc gửi lại mã.", "The code is wrong or has expired. Check the message or send it again."},
		"decl.proof.not_mine":        {"Không phải số của bạn? Tờ khai vẫn được lưu ở trạng thái chưa xác minh và không cấp mã QR.", "Not your number? The declaration stays unverified and no QR is issued."},
		"decl.proof.bad_handle":      {"Liên kết xác minh không hợp lệ: hãy khai báo lại", "The proof link is invalid: declare again"},
		"decl.proof.unverified":      {"Chưa xác minh", "Unverified"},
		"decl.proof.unverified.hint": {"Khai từ máy chưa xác minh số điện thoại: có thể không phải chính chủ, gọi điện xác minh trước.", "Made on a device that has not proved the phone: it may not be the holder, call to check first."},
	})
}
