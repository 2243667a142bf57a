package checkin

// Evidence grades of a visit (visits.proof, 0012_evidence.sql): how sure we
// are that the stay is the person it names. Tracing messages and orders
// quarantine automatically only from PhoneProven up; an Unproven contact is
// called by a person first.
const (
	Unproven    = 0 // details typed, or a person token from typed details
	PhoneProven = 1 // the phone proved the number with a one-time code on this device
	StaffSeen   = 2 // staff saw a proven person's personal QR or a chip ID card
)
