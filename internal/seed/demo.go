package seed

import (
	"fmt"
	"hash/fnv"
	"time"
)

const (
	// Two weeks ahead is enough to see slots fill up in a demo without the
	// listing growing past what a page shows comfortably.
	demoDays = 14
	// Round numbers, as a real centre would announce them.
	demoMinCapacity  = 50
	demoMaxCapacity  = 300
	demoCapacityStep = 10
)

var demoSessions = []struct{ suffix, time string }{
	{"am", "08:00-13:00"},
	{"pm", "14:00-18:00"},
}

// malaysia is fixed at UTC+8: Malaysia has no daylight saving, and a fixed
// zone needs no tzdata in the container image.
var malaysia = time.FixedZone("MYT", 8*60*60)

type demoCenter struct{ name, address string }

type demoState struct {
	code, name, prefix string
	centers            [3]demoCenter
}

var demoStates = []demoState{
	{"johor", "Johor", "jhr", [3]demoCenter{
		{"Dewan Komuniti Taman Universiti", "Jalan Pendidikan, Taman Universiti, 81300 Skudai, Johor"},
		{"Stadium Tan Sri Dato' Haji Hassan Yunos", "Jalan Stadium, Larkin, 80350 Johor Bahru, Johor"},
		{"Dewan Serbaguna Majlis Perbandaran Muar", "Jalan Petri, 84000 Muar, Johor"},
	}},
	{"kedah", "Kedah", "kdh", [3]demoCenter{
		{"Stadium Darul Aman", "Jalan Stadium, 05100 Alor Setar, Kedah"},
		{"Dewan Komuniti Sungai Petani", "Jalan Kolam Air, 08000 Sungai Petani, Kedah"},
		{"Pusat Konvensyen Kulim", "Jalan Tunku Putra, 09000 Kulim, Kedah"},
	}},
	{"kelantan", "Kelantan", "ktn", [3]demoCenter{
		{"Stadium Sultan Muhammad IV", "Jalan Mahmood, 15200 Kota Bharu, Kelantan"},
		{"Dewan Komuniti Pasir Mas", "Jalan Masjid Lama, 17000 Pasir Mas, Kelantan"},
		{"Dewan Serbaguna Tanah Merah", "Jalan Bazar, 17500 Tanah Merah, Kelantan"},
	}},
	{"melaka", "Melaka", "mlk", [3]demoCenter{
		{"Pusat Dagangan Antarabangsa Melaka", "Jalan Tun Abdul Razak, Ayer Keroh, 75450 Melaka"},
		{"Stadium Hang Jebat", "Jalan Stadium, Krubong, 75250 Melaka"},
		{"Dewan Komuniti Alor Gajah", "Jalan Dato' Dol Said, 78000 Alor Gajah, Melaka"},
	}},
	{"negeri-sembilan", "Negeri Sembilan", "nsn", [3]demoCenter{
		{"Stadium Tuanku Abdul Rahman", "Jalan Sungai Ujong, Paroi, 70400 Seremban, Negeri Sembilan"},
		{"Dewan Komuniti Putra Nilai", "Jalan BBN 1/2, Putra Nilai, 71800 Nilai, Negeri Sembilan"},
		{"Dewan Serbaguna Port Dickson", "Jalan Pantai, 71000 Port Dickson, Negeri Sembilan"},
	}},
	{"pahang", "Pahang", "phg", [3]demoCenter{
		{"Stadium Darul Makmur", "Jalan Stadium, 25200 Kuantan, Pahang"},
		{"Dewan Komuniti Temerloh", "Jalan Ibrahim, 28000 Temerloh, Pahang"},
		{"Pusat Konvensyen Bentong", "Jalan Ah Peng, 28700 Bentong, Pahang"},
	}},
	{"perak", "Perak", "prk", [3]demoCenter{
		{"Stadium Indera Mulia", "Jalan Raja Musa Aziz, 30300 Ipoh, Perak"},
		{"Dewan Komuniti Taiping", "Jalan Kota, 34000 Taiping, Perak"},
		{"Dewan Serbaguna Teluk Intan", "Jalan Changkat Jong, 36000 Teluk Intan, Perak"},
	}},
	{"perlis", "Perlis", "pls", [3]demoCenter{
		{"Dewan Warisan Kangar", "Jalan Kolam, 01000 Kangar, Perlis"},
		{"Stadium Utama Kangar", "Jalan Padang Katong, 01000 Kangar, Perlis"},
		{"Dewan Komuniti Arau", "Jalan Besar, 02600 Arau, Perlis"},
	}},
	{"pulau-pinang", "Pulau Pinang", "png", [3]demoCenter{
		{"Stadium Bandaraya Pulau Pinang", "Jalan Perak, 10150 George Town, Pulau Pinang"},
		{"Pusat Konvensyen SPICE", "Jalan Tun Dr Awang, Relau, 11900 Bayan Lepas, Pulau Pinang"},
		{"Dewan Komuniti Bukit Mertajam", "Jalan Kulim, 14000 Bukit Mertajam, Pulau Pinang"},
	}},
	{"sabah", "Sabah", "sbh", [3]demoCenter{
		{"Pusat Konvensyen Antarabangsa Sabah", "Jalan Tun Fuad Stephens, 88400 Kota Kinabalu, Sabah"},
		{"Stadium Likas", "Jalan Stadium, Likas, 88400 Kota Kinabalu, Sabah"},
		{"Dewan Komuniti Sandakan", "Jalan Leila, 90000 Sandakan, Sabah"},
	}},
	{"sarawak", "Sarawak", "swk", [3]demoCenter{
		{"Pusat Konvensyen Borneo Kuching", "Jalan Keruing, Isthmus, 93050 Kuching, Sarawak"},
		{"Stadium Perpaduan Petra Jaya", "Jalan Stadium, Petra Jaya, 93050 Kuching, Sarawak"},
		{"Dewan Suarah Sibu", "Jalan Tun Abang Haji Openg, 96000 Sibu, Sarawak"},
	}},
	{"selangor", "Selangor", "sel", [3]demoCenter{
		{"Dewan Komuniti Seksyen 7", "Jalan Plumbum 7/102, Seksyen 7, 40000 Shah Alam, Selangor"},
		{"Stadium Malawati", "Persiaran Sukan, Seksyen 13, 40100 Shah Alam, Selangor"},
		{"Dewan Hamzah", "Jalan Dato' Hamzah, 41000 Klang, Selangor"},
	}},
	{"terengganu", "Terengganu", "trg", [3]demoCenter{
		{"Stadium Sultan Mizan Zainal Abidin", "Jalan Gong Badak, 21300 Kuala Nerus, Terengganu"},
		{"Dewan Komuniti Kuala Terengganu", "Jalan Sultan Zainal Abidin, 20000 Kuala Terengganu, Terengganu"},
		{"Dewan Serbaguna Kemaman", "Jalan Sulaimani, 24000 Chukai, Terengganu"},
	}},
	{"kuala-lumpur", "W.P. Kuala Lumpur", "kul", [3]demoCenter{
		{"Pusat Dagangan Dunia Kuala Lumpur", "Jalan Tun Ismail, 50480 Kuala Lumpur"},
		{"Stadium Titiwangsa", "Jalan Temerloh, Titiwangsa, 53200 Kuala Lumpur"},
		{"Dewan Komuniti Bandar Tun Razak", "Jalan Jejaka, Bandar Tun Razak, 56000 Kuala Lumpur"},
	}},
	{"labuan", "W.P. Labuan", "lbn", [3]demoCenter{
		{"Dewan Komuniti Labuan", "Jalan Dewan, 87000 Labuan"},
		{"Stadium Labuan", "Jalan Tanjung Batu, 87000 Labuan"},
		{"Pusat Konvensyen Antarabangsa Labuan", "Jalan Merdeka, 87000 Labuan"},
	}},
	{"putrajaya", "W.P. Putrajaya", "pjy", [3]demoCenter{
		{"Pusat Konvensyen Antarabangsa Putrajaya", "Dataran Gemilang, Presint 5, 62000 Putrajaya"},
		{"Dewan Komuniti Presint 9", "Jalan P9E, Presint 9, 62250 Putrajaya"},
		{"Stadium Presint 11", "Persiaran Barat, Presint 11, 62300 Putrajaya"},
	}},
}

// Demo returns the demo data set: the 16 Malaysian states and federal
// territories, three centres each, and a morning and an afternoon session
// at every centre for the 14 days after from's date in Malaysia. Each row's
// Line is where WriteCSV would put it. The same date always gives the same
// rows, and a slot's capacity depends only on its id, so loading a later
// day's demo over an earlier one leaves the shared slots alone.
func Demo(from time.Time) []Row {
	y, m, d := from.In(malaysia).Date()
	rows := make([]Row, 0, len(demoStates)*3*demoDays*len(demoSessions))
	for _, st := range demoStates {
		for i, c := range st.centers {
			centerID := fmt.Sprintf("%s-%03d", st.prefix, i+1)
			for day := 1; day <= demoDays; day++ {
				date := time.Date(y, m, d+day, 0, 0, 0, 0, time.UTC).Format(dateLayout)
				for _, s := range demoSessions {
					slotID := centerID + "-" + date + "-" + s.suffix
					rows = append(rows, Row{
						Line:       len(rows) + 2,
						State:      st.code,
						StateName:  st.name,
						CenterID:   centerID,
						CenterName: c.name,
						Address:    c.address,
						SlotID:     slotID,
						Date:       date,
						Time:       s.time,
						Capacity:   demoCapacity(slotID),
					})
				}
			}
		}
	}
	return rows
}

func demoCapacity(slotID string) int {
	h := fnv.New32a()
	h.Write([]byte(slotID))
	steps := (demoMaxCapacity-demoMinCapacity)/demoCapacityStep + 1
	return demoMinCapacity + int(h.Sum32()%uint32(steps))*demoCapacityStep
}
