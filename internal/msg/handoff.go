package msg

// Hand-offs of F1s who live in another province (web/tracing_handoffs.go).
func init() {
	add(map[string]Text{
		"handoff.title":         {"F1 cư trú ở tỉnh khác", "F1s living in another province"},
		"handoff.nav":           {"F1 ở tỉnh khác", "F1s in other provinces"},
		"handoff.out":           {"Bàn giao đi", "To hand over"},
		"handoff.out.hint":      {"Người tiếp xúc của các ca bệnh trong tỉnh nhưng cư trú ở tỉnh khác: bàn giao cho tỉnh nơi họ ở để theo dõi.", "Contacts of this province's cases who live elsewhere: hand them to the province where they live for follow-up."},
		"handoff.in":            {"Nhận từ tỉnh khác", "Received from other provinces"},
		"handoff.state":         {"Bàn giao", "Hand-off"},
		"handoff.pending":       {"%d chưa bàn giao", "%d not handed over"},
		"handoff.not_handed":    {"Chưa bàn giao", "Not handed over"},
		"handoff.handed.system": {"Đã bàn giao trong hệ thống bởi %s lúc %s", "Handed over in the system by %s at %s"},
		"handoff.handed.file":   {"Đã gửi tệp bàn giao bởi %s lúc %s", "Sent as a file by %s at %s"},
		"handoff.received":      {"Tỉnh nhận đã tiếp nhận bởi %s lúc %s", "Taken over by %s at %s"},
		"handoff.system":        {"Bàn giao trong hệ thống", "Hand over in the system"},
		"handoff.confirm":       {"Bàn giao %d F1 cho %s?", "Hand %d F1s to %s?"},
		"handoff.file":          {"Tải tệp bàn giao", "Download the hand-off file"},
		"handoff.file.purpose":  {"Bàn giao F1 cho tỉnh nơi cư trú", "Hand-off of F1s to their home province"},
		"handoff.receive":       {"Xác nhận đã nhận", "Confirm taken over"},
		"handoff.done.handed":   {"Đã bàn giao. Tỉnh nhận thấy các F1 này trong danh sách theo dõi của họ.", "Handed over. The receiving province sees these F1s on its follow-up list."},
		"handoff.done.received": {"Đã xác nhận tiếp nhận.", "Taken over."},
		"task.handoffs_out":     {"F1 cư trú ở tỉnh khác chưa bàn giao", "F1s living in another province not handed over"},
		"task.handoffs_in":      {"F1 tỉnh khác bàn giao chờ tiếp nhận", "F1s handed over by other provinces to take over"},
	})
}
