package msg

// The task list on an official's home page (web/home.go).
func init() {
	add(map[string]Text{
		"task.title":               {"Việc cần làm", "Work to do"},
		"task.none":                {"Không có việc nào đang chờ.", "Nothing is waiting."},
		"task.calls_overdue":       {"Cuộc gọi theo dõi F1 quá hạn", "F1 follow-up calls overdue"},
		"task.calls_due":           {"Cuộc gọi theo dõi F1 đến hạn trong 24 giờ tới", "F1 follow-up calls due within 24 hours"},
		"task.quarantine_ending":   {"Người hết hạn cách ly trong 24 giờ tới", "Quarantines ending within 24 hours"},
		"task.grants":              {"Yêu cầu truy cập dữ liệu chờ duyệt", "Data access requests to decide"},
		"task.declarations":        {"Tờ khai y tế cần xử lý (có triệu chứng hoặc tiếp xúc)", "Flagged health declarations to handle"},
		"task.held":                {"Lượt quét bị giữ lại chờ xem xét", "Held check-ins to review"},
		"task.venues_pending":      {"Địa điểm chờ duyệt", "Venues waiting for approval"},
		"task.cameras_down":        {"Camera mất kết nối", "Cameras down"},
		"task.report_pending":      {"Báo cáo tuần của đơn vị chưa nộp, hạn %s", "Your unit's weekly report is not in yet, due %s"},
		"task.report_missing":      {"Báo cáo tuần của đơn vị đã quá hạn %s", "Your unit's weekly report is overdue since %s"},
		"task.report_on_time":      {"Báo cáo tuần của đơn vị đã nộp đúng hạn %s", "Your unit's weekly report is in, before %s"},
		"task.report_late":         {"Báo cáo tuần của đơn vị đã nộp muộn (hạn %s)", "Your unit's weekly report came in late (due %s)"},
		"task.reports_outstanding": {"Đơn vị chưa nộp báo cáo tuần (hạn %s)", "Units yet to send their weekly report (due %s)"},
	})
}
