package config

import (
	"strings"
	"testing"
)

func TestGatewaySettings(t *testing.T) {
	c, err := parse(t, map[string]string{"ANTICOVID_SMS_URL": "https://sms.example.vn/send", "ANTICOVID_SMS_AUTH": "Authorization: Bearer k",
		"ANTICOVID_OTT_CALLBACK_SECRET": "0123456789abcdef"}, "--sms-brand", "SYT_LONGAN", "--sms-success", "CodeResult=100", "--ott-url", "https://ott.example.vn",
		"--ott-templates", "otp=1,f1=2", "--dev-messages")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMS.URL != "https://sms.example.vn/send" || c.SMS.Auth != "Authorization: Bearer k" || c.SMS.Brand != "SYT_LONGAN" || c.SMS.Body != DefaultSMSBody ||
		c.SMS.Rate != 10 || c.OTT.Success != "error=0" || c.OTT.IDField != "data.msg_id" || c.OTT.CallbackSecret != "0123456789abcdef" || !c.DevMessages || c.EmailRate != 5 {
		t.Fatalf("%+v", c)
	}
}

func TestGatewayValidation(t *testing.T) {
	for _, bad := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--sms-url", "ftp://x"}, "--sms-url"},
		{map[string]string{"ANTICOVID_SMS_AUTH": "Bearer only"}, []string{"--sms-url", "https://x"}, "ANTICOVID_SMS_AUTH"},
		{map[string]string{"ANTICOVID_SMS_AUTH": "Authorization: k"}, nil, "--sms-url is not"},
		{nil, []string{"--ott-url", "https://x", "--ott-success", "nothing"}, "--ott-success"},
		{nil, []string{"--ott-url", "https://x", "--ott-templates", "otp"}, "--ott-templates"},
		{nil, []string{"--sms-url", "https://x", "--sms-rate", "0"}, "--sms-rate"},
		{map[string]string{"ANTICOVID_SMS_CALLBACK_SECRET": "short"}, []string{"--sms-url", "https://x"}, "CALLBACK_SECRET"},
		{nil, []string{"--smtp-rate", "-1"}, "--smtp-rate"},
	} {
		t.Run(bad.want, func(t *testing.T) {
			_, err := parse(t, bad.env, bad.args...)
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("%v %v: %v, want %q", bad.env, bad.args, err, bad.want)
			}
			if err != nil && strings.Contains(err.Error(), "Bearer") {
				t.Errorf("the message shows the secret: %v", err)
			}
		})
	}
}
