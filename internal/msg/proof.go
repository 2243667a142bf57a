package msg

// The proof of a phone number on a device (issue #15): the check-in page's
// step and the API's refusals.
func init() {
	add(map[string]Text{
		"proof.unknown_person": {"Thiết bị này chưa check-in lần nào với thông tin hợp lệ; hãy check-in trước rồi xác minh số điện thoại", "This device has not checked in with valid details yet; check in first, then prove your phone number"},
		"proof.no_phone":       {"Người này chưa có số điện thoại để nhận mã", "This person has no phone number to receive a code"},
		"proof.title":          {"Xác minh số điện thoại", "Prove your phone number"},
		"proof.why":            {"Lượt quét của bạn đã được ghi nhưng chưa xác minh. Xác minh một lần trên điện thoại này để khi có ca bệnh, bạn được báo ngay qua tin nhắn.", "Your scan is recorded but not verified. Prove your number once on this phone so that you are texted at once if a case is found."},
		"proof.send":           {"Gửi mã qua tin nhắn", "Text me a code"},
		"proof.code":           {"Mã xác minh (6 chữ số)", "Verification code (6 digits)"},
		"proof.check":          {"Xác minh", "Verify"},
		"proof.sent":           {"Đã gửi mã tới số ", "Code sent to "},
		"proof.demo":           {"Bản trình diễn, không gửi tin nhắn thật. Mã của bạn: ", "Demo: no real SMS is sent. Your code: "},
		"proof.offline":        {"Không có kết nối mạng; hãy thử lại khi có mạng", "No connection; try again when you are online"},
		"proof.done":           {"Đã xác minh số điện thoại trên điện thoại này.", "Your phone number is proven on this phone."},
	})
}
