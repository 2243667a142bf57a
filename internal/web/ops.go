package web

import (
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/dashboard"
	"anticovid/internal/reports"
)

// Ops are the operations centre's services: the live dashboard and public
// map, weekly reports, quarantine cameras and campaigns. When nil, none of
// their routes exist.
type Ops struct {
	Dashboard *dashboard.Service
	Reports   *reports.Service
	Cameras   *camera.Service
	Campaigns *campaign.Service
	// MapTiles is an optional tile server URL template for the public map
	// ({z}/{x}/{y}); empty: the schematic map, which needs no internet.
	MapTiles       string
	MapAttribution string
}
