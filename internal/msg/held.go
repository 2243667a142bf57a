package msg

// Texts of the review of check-ins held as implausible (internal/checkin's
// plausibility rules, internal/web/held_checkins.go).
func init() {
	add(map[string]Text{
		"checkin.held.unknown_unit": {"Mã đơn vị hành chính không tồn tại", "Unknown administrative unit code"},
		"checkin.held.bad_status":   {"Trạng thái phải là held, released, rejected hoặc all", "status must be held, released, rejected or all"},
		"held.purpose":              {"Xem xét lượt quét bị giữ lại", "Review of held check-ins"},
		"held.title":                {"Lượt quét bị giữ lại", "Held check-ins"},
		"held.nav":                  {"Lượt quét bị giữ lại", "Held check-ins"},
		"held.intro": {"Những lượt quét này không thể xảy ra trên thực tế (một số điện thoại ở hai nơi quá xa nhau trong vài phút, quá nhiều lượt trong một ngày, nhiều người quét từ cùng một địa chỉ mạng). Chúng không được đưa vào truy vết tự động cho đến khi cán bộ cho phép.",
			"These scans cannot be physical (one phone at two places too far apart within minutes, too many scans in a day, many people from one network address). They stay out of automatic tracing until an officer releases them."},
		"held.status.held":     {"Đang giữ", "Held"},
		"held.status.released": {"Đã cho phép", "Released"},
		"held.status.rejected": {"Đã loại bỏ", "Rejected"},
		"held.status.all":      {"Tất cả", "All"},
		"held.number":          {"Số", "No."},
		"held.queued":          {"gửi sau khi mất mạng", "sent from the offline queue"},
		"held.unverified":      {"chưa xác minh", "unverified"},
		"held.release":         {"Cho phép (đưa vào truy vết)", "Release (into tracing)"},
		"held.reject":          {"Loại bỏ", "Reject"},
		"held.done.release":    {"Đã cho phép lượt quét", "Released check-in"},
		"held.done.reject":     {"Đã loại bỏ lượt quét", "Rejected check-in"},
		"held.why.speed_km": {"Cách lượt quét trước %s km chỉ sau %s phút (địa điểm số %s): nhanh hơn %d km/h",
			"%s km from the previous scan only %s minutes later (venue no. %s): faster than %d km/h"},
		"held.why.speed_province": {"Ở tỉnh khác với lượt quét trước chỉ sau %s phút (địa điểm số %s)",
			"In another province than the previous scan only %s minutes later (venue no. %s)"},
		"held.why.daily": {"Lượt quét thứ %s trong ngày của người này (tối đa %d)", "This person's scan no. %s of the day (at most %d)"},
		"held.why.burst": {"Người thứ %s quét tại địa điểm này từ cùng một địa chỉ mạng trong %s phút",
			"Person no. %s checked in at this venue from one network address within %s minutes"},
	})
}
