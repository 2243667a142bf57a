package people

import (
	"strings"
	"testing"
)

func TestFoldAndWords(t *testing.T) {
	for in, want := range map[string]string{
		"Chợ Bến Lức":            "cho ben luc",
		"  CHỢ   BẾN  LỨC ":      "cho ben luc",
		"Đường Đồng Khởi":        "duong dong khoi",
		"Nhà thuốc Đức Tâm":      "nha thuoc duc tam",
		"51B-123.45":             "51b-123.45",
		"Trường THPT Nguyễn Huệ": "truong thpt nguyen hue",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := strings.Join(Words("Nguyễn Văn-Tâm, 51B"), "|"); got != "nguyen|van|tam|51b" {
		t.Errorf("Words: %q", got)
	}
}
