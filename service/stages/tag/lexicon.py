"""The default section model: weighted terms per IPTC top-level topic, written by hand.

Data only. Weights say how strongly a term points at a topic: 3 nearly decides it
("touchdown", "ceasefire"), 2 is typical vocabulary, 1 is a weak hint shared with
neighbouring topics. Terms are lower case; a space makes a two-word phrase. Matching
folds a plural "-s" on words longer than four letters (see tag.py `_stem`).
Topics without entries in a language fall back to the English table.
"""

from __future__ import annotations

_ARTS, _CRIME, _DISASTER, _ECONOMY = (
    "medtop:01000000", "medtop:02000000", "medtop:03000000", "medtop:04000000",
)
_EDUCATION, _ENVIRONMENT, _HEALTH, _HUMAN = (
    "medtop:05000000", "medtop:06000000", "medtop:07000000", "medtop:08000000",
)
_LABOUR, _LIFESTYLE, _POLITICS, _RELIGION = (
    "medtop:09000000", "medtop:10000000", "medtop:11000000", "medtop:12000000",
)
_SCITECH, _SOCIETY, _SPORT, _CONFLICT, _WEATHER = (
    "medtop:13000000", "medtop:14000000", "medtop:15000000", "medtop:16000000",
    "medtop:17000000",
)


def _w(weight: float, terms: str) -> dict[str, float]:
    return {term.strip(): weight for term in terms.split(",") if term.strip()}


EN: dict[str, dict[str, float]] = {
    _ARTS: {
        **_w(3, "album, box office, concert tour, film festival, oscar, oscars, grammy, emmy, "
               "screenplay, sitcom, biopic, broadway, art exhibition, novelist, box-office, "
               "soundtrack, songwriter, sequel, blockbuster, golden globe, netflix series"),
        **_w(2, "film, movie, actor, actress, singer, band, song, songs, musician, director, "
               "premiere, festival, gallery, museum, painting, painter, sculpture, artist, "
               "theatre, theater, novel, author, book, poet, poetry, celebrity, hollywood, "
               "streaming service, episode, season finale, series, tv show, television, "
               "comedian, comedy, drama, rapper, pop star, opera, orchestra, ballet, "
               "exhibition, curator, studio, fans, tour, documentary, musical, record label, "
               "reunite, reunion, anniversary tour, rock, hits, star trek, star wars, "
               "chart, billboard, disney, paramount, performer, dancing"),
        **_w(1, "show, stage, audience, cast, role, character, script, writer, reality, "
               "entertainment, culture, cultural, arts, media, magazine, radio, podcast, "
               "video game, game, games, review, released, release, starring, hbo"),
    },
    _CRIME: {
        **_w(3, "arrested, murder, murdered, homicide, manslaughter, pleaded guilty, "
               "pleads guilty, indicted, indictment, convicted, sentenced, prosecutor, "
               "prosecutors, stabbed, stabbing, robbery, burglary, kidnapping, kidnapped, "
               "fraud charges, jury, trial, smuggling, drug trafficking, shooting suspect"),
        **_w(2, "police, suspect, suspects, charged, charges, crime, criminal, court, judge, "
               "sentence, prison, jail, inmate, inmates, guilty, victim, victims, theft, "
               "stolen, investigation, investigators, detective, lawsuit, lawyer, attorney, "
               "defendant, custody, gang, fbi, officers, sheriff, felony, assault, rape, "
               "allegation, allegations, warrant, cartel, prison guard, threatening, bail, "
               "attorney general, drug, drugs, meth, narcotics, scam"),
        **_w(1, "law, legal, justice, arrest, killed, death, shot, gun, evidence, "
               "alleged, accused, convicted, investigate, probe"),
    },
    _DISASTER: {
        **_w(3, "earthquake, tsunami, hurricane, wildfire, wildfires, flooding, floods, "
               "landslide, avalanche, plane crash, derailment, eruption, volcano, "
               "rescue workers, death toll, evacuation, evacuated, survivors, rubble, "
               "power shutoff, bushfire, cyclone, typhoon, tornado"),
        **_w(2, "disaster, crash, collision, fire, blaze, firefighters, emergency, rescue, "
               "rescued, explosion, blast, collapse, collapsed, injured, accident, "
               "helicopter crash, flood, storm damage, relief, red cross, missing, "
               "emergency services, shutoff"),
        **_w(1, "killed, dead, victims, damage, destroyed, wreckage, crash site"),
    },
    _ECONOMY: {
        **_w(3, "shares, stock market, stocks, investors, earnings, quarterly, revenue, "
               "profit, profits, interest rates, interest rate, inflation, central bank, "
               "federal reserve, gdp, recession, dow jones, nasdaq, s&p 500, ipo, "
               "merger, acquisition, tariffs, tariff, trade war, trade deal, bond yields, "
               "wall street, stock exchange, sales fell, sales rose, listing, valuation, "
               "shareholders, dividend, fiscal"),
        **_w(2, "economy, economic, business, company, companies, market, markets, bank, "
               "banks, finance, financial, investment, invest, investor, billion, million, "
               "price, prices, growth, trade, exports, imports, retail, retailer, sales, "
               "consumer, consumers, ceo, chief executive, firm, startup, brand, deal, "
               "debt, loan, loans, budget deficit, currency, dollar, euro, oil prices, "
               "industry, manufacturing, stock, fund, funds, analysts, forecast, quarter, "
               "percent, per cent, customers, store, stores, retirement, savings, mortgage, "
               "housing market, automaker, airline, order, orders, boeing, wework"),
        **_w(1, "cost, costs, money, pay, spending, buy, bought, sell, sold, jobs, "
               "deals, products, launch, executive, board, plan, growth, demand, supply"),
    },
    _EDUCATION: {
        **_w(3, "students, pupils, teachers, curriculum, tuition, university, universities, "
               "school district, classroom, classrooms, exam results, graduates, "
               "kindergarten, college admissions, student loans, headteacher, teachers union"),
        **_w(2, "school, schools, education, teacher, student, college, campus, academic, "
               "professor, lecturer, degree, exams, exam, learning, scholarship, "
               "enrollment, literacy, semester"),
        **_w(1, "class, lesson, study, learn, children, parents"),
    },
    _ENVIRONMENT: {
        **_w(3, "climate change, global warming, carbon emissions, greenhouse gas, "
               "emissions, renewable energy, solar power, wind farm, deforestation, "
               "biodiversity, endangered species, air pollution, pollution, fossil fuels, "
               "net zero, conservation, wildlife, recycling, plastic waste, carbon dioxide"),
        **_w(2, "climate, environment, environmental, carbon, solar, renewable, renewables, "
               "wind power, forest, forests, species, ocean, oceans, coal, sustainability, "
               "sustainable, ecosystem, habitat, drought, air quality, smog, green energy, "
               "clean energy, epa, habitats"),
        **_w(1, "green, energy, nature, water, waste, environmentalists, plastic"),
    },
    _HEALTH: {
        **_w(3, "patients, patient, hospital, hospitals, vaccine, vaccines, vaccination, "
               "virus, infection, infections, disease, diseases, cancer, diabetes, "
               "symptoms, diagnosed, diagnosis, doctors, physician, nurses, outbreak, "
               "epidemic, pandemic, plague, medical, medication, treatment, clinical, "
               "mental health, obesity, flu, lung, surgery, therapy, health care, "
               "healthcare, encephalitis, nutrition"),
        **_w(2, "health, doctor, nurse, illness, drug, medicine, pharmaceutical, clinic, "
               "fda, who, public health, virus, bacteria, immune, heart, brain, blood, "
               "pain, diet, calories, protein, weight loss, eating, binge, fitness, "
               "sleep, study, researchers, died, death, fatality, cases, case, infected"),
        **_w(1, "care, risk, body, healthy, food, test, tests"),
    },
    _HUMAN: {
        **_w(3, "heartwarming, viral video, went viral, reunited, birthday party, "
               "centenarian, lost dog, lost cat, adopted, world record, guinness"),
        **_w(2, "dog, cat, pet, pets, family, grandmother, grandfather, wedding, couple, "
               "kindness, surprise, celebrates, missing cat, animal, animals, florida man, "
               "dear abby, husband, wife, birthday, bride, groom, vows, reunion, "
               "neighbours, neighbors, kindest, relatives, raised money, good deed, "
               "lemonade, hero, heroes, millions of times, given up hope"),
        **_w(1, "story, community, neighbours, neighbors, strange, bizarre, odd"),
    },
    _LABOUR: {
        **_w(3, "strike, strikes, trade union, labor union, labour union, unions, "
               "walkout, minimum wage, layoffs, laid off, job cuts, unemployment rate, "
               "collective bargaining, picket, workers rights, pension, pensions"),
        **_w(2, "workers, employees, union, wages, wage, unemployment, jobs, employment, "
               "employer, employers, workforce, staff, hiring, overtime, labour, labor, "
               "jobless, payroll, retirement age"),
        **_w(1, "work, job, pay, salary, salaries, protest"),
    },
    _LIFESTYLE: {
        **_w(3, "recipe, recipes, ingredients, tablespoon, teaspoon, travel guide, "
               "destinations, hotel, resort, fashion week, makeup, skincare, beauty, "
               "home decor, gardening, vacation, holiday deals, black friday, gift guide"),
        **_w(2, "food, cooking, cook, restaurant, chef, dinner, meal, meals, snack, snacks, "
               "travel, trip, tourism, tourists, fashion, style, designer, wine, beer, "
               "coffee, garden, home, decor, interior, car, cars, suv, convertible, "
               "sedan, vehicle, vehicles, drive, driving, hiking, hike, yoga, workout, "
               "deals, shopping, gift, gifts, honey, jam, flavor, sweet, kitchen, bike"),
        **_w(1, "lifestyle, leisure, weekend, fun, enjoy, favorite, favourite, design, "
               "new, best, tips, ideas, luxury, price, model"),
    },
    _POLITICS: {
        **_w(3, "election, elections, parliament, senate, senator, senators, congress, "
               "congressman, congresswoman, lawmakers, legislation, bill, impeachment, "
               "campaign, candidate, candidates, voters, polls, ballot, democrats, "
               "republicans, democratic, republican, prime minister, president trump, "
               "white house, governor, minister, ministers, cabinet, opposition party, "
               "political party, coalition, referendum, brexit, mp, mps, tories, labour party, "
               "presidential, primary, caucus, legislature, house speaker, diplomacy"),
        **_w(2, "government, political, politics, president, vote, voted, votes, policy, "
               "law, party, parties, administration, official, officials, state department, "
               "foreign minister, secretary of state, diplomatic, diplomat, sanctions, "
               "treaty, summit, ambassador, envoy, embassy, reform, protesters, protest, "
               "democracy, constitution, supreme court, mayor, council, trump, biden, "
               "obama, hearing, testimony, testified, hearings, regime, kremlin, "
               "united nations, security council, eu, european union, nato, lawmaker"),
        **_w(1, "public, leader, leaders, national, state, federal, rights, agreement, "
               "talks, dialogue, cooperation, statement, spokesman, spokeswoman, announced"),
    },
    _RELIGION: {
        **_w(3, "church, churches, mosque, mosques, synagogue, temple, pope, vatican, "
               "bishop, priest, imam, rabbi, clergy, worship, prayer, prayers, bible, "
               "quran, koran, islam, islamic, christianity, christian, christians, muslim, "
               "muslims, jewish, judaism, hindu, buddhist, catholic, protestant, sunni, "
               "shia, allah, faith, religious, religion, theology, pilgrimage, ramadan"),
        **_w(2, "god, holy, sacred, spiritual, believers, congregation, sermon, saint, "
               "jesus, prophet, divine, heaven"),
        **_w(1, "belief, beliefs, soul"),
    },
    _SCITECH: {
        **_w(3, "scientists, astronomers, nasa, spacecraft, telescope, astronaut, "
               "astronauts, planet, planets, moon, orbit, rocket, spacex, physics, "
               "chemistry, biology, genome, molecule, molecules, researchers found, "
               "smartphone, iphone, android, app, apps, software, hardware, laptop, "
               "processor, chip, chips, semiconductor, artificial intelligence, "
               "machine learning, algorithm, cybersecurity, hackers, data breach, "
               "cloud computing, startup, silicon valley, gadget, gadgets, macbook, "
               "keyboard, google, apple, microsoft, amazon, facebook, instagram, twitter, "
               "stadia, streaming, console, playstation, xbox, gpu, cpu, fps, 1080p, 4k, "
               "electric vehicle, electric vehicles, ev, battery, lunar, mars, jupiter, "
               "saturn, galaxy, universe, asteroid, comet, simulation, simulations, "
               "quantum, laboratory, experiment, experiments, cells, dna, robot, robots, "
               "science, scientific, technology"),
        **_w(2, "research, researchers, study, scientist, data, internet, online, digital, "
               "computer, computers, tech, device, devices, users, user, website, platform, "
               "network, wireless, 5g, engineering, engineers, innovation, launch, "
               "launched, space, water vapor, surface, species, evolution, fossil, "
               "discovery, discovered, journal, published, samples, technologies, "
               "analytics, developers, update, version, pc, screen, display, storage, "
               "camera, features, model, models, electric, tesla, vr"),
        **_w(1, "new, system, systems, tool, tools, design, power, test, testing, "
               "companies, lab, mission"),
    },
    _SOCIETY: {
        **_w(3, "immigration, immigrants, migrants, refugees, asylum seekers, deportation, "
               "deportees, homelessness, homeless, poverty, inequality, discrimination, "
               "racism, lgbt, same-sex, gender equality, civil rights, social welfare, "
               "welfare, charity, charities, volunteers, nonprofit, philanthropy"),
        **_w(2, "society, social, community, communities, families, population, "
               "demographic, census, housing, gender, women, minority, minorities, "
               "racial, diversity, migrant, border, donations, donation, grant, aid"),
        **_w(1, "people, citizens, residents, youth, elderly, children, rights"),
    },
    _SPORT: {
        **_w(3, "touchdown, quarterback, goalkeeper, striker, midfielder, defender, "
               "penalty kick, hat trick, hat-trick, premier league, champions league, "
               "world cup, nfl, nba, mlb, nhl, super bowl, playoffs, playoff, grand slam, "
               "wimbledon, olympics, olympic, tournament, championship, semifinal, "
               "semi-final, quarterfinal, final score, coach, head coach, manager, "
               "referee, innings, wicket, batsman, pitcher, inning, home run, rebounds, "
               "assists, goals, scored, scores, scoring, davis cup, formula one, grand prix, "
               "racing, nascar, league, teammates, defeated, triple-double, lakers, browns, "
               "football, soccer, basketball, baseball, tennis, hockey, golf, cricket, "
               "rugby, athletes, athlete, uefa, fifa, qualifying, clinch, stadium, "
               "touchdowns, semi-final, final whistle, straight sets, pole position"),
        **_w(2, "player, players, fans, sport, sports, club, clubs, squad, points, race, "
               "driver, drivers, lap, laps, match, matches, team, teams, game, games, "
               "win, wins, won, beat, victory, overtime, "
               "title, medal, champion, champions, defense, offense, yards, snaps, roster, "
               "loss, lose, lost, draw, minutes, half, period, swim, swimmer, coaches, "
               "college football, high school, undefeated, rookie, veteran, contract, "
               "transfer, signing, injury, injured"),
        **_w(1, "fight, record, first, second, third, week, season"),
    },
    _CONFLICT: {
        **_w(3, "war, warfare, military, troops, soldiers, army, airstrike, airstrikes, "
               "missile, missiles, rebels, rebel, militants, militant, insurgents, "
               "terrorist, terrorists, terrorism, terror, ceasefire, cease-fire, taliban, "
               "isis, daesh, al-qaeda, jihadist, armed forces, defense minister, "
               "defence minister, pentagon, combat, battle, bombing, bombardment, "
               "shelling, invasion, peace talks, peace deal, hostage, hostages, "
               "weapons, nuclear weapons, service members, helicopter, militia, "
               "anti-terrorism, counterterrorism, coast guard, navy, air force"),
        **_w(2, "conflict, attack, attacks, killed, fighting, forces, security forces, "
               "casualties, wounded, civilians, peace, escalation, offensive, siege, "
               "occupation, border clashes, clashes, riot, riots, protesters, police, "
               "syria, syrian, afghanistan, iraq, yemen, ukraine, gaza, israeli, "
               "hong kong, violence, violent, explosion, bomb, drone, strikes, defense, "
               "defence, esper, security"),
        **_w(1, "crisis, tensions, threat, threats, armed, fight, military solution, "
               "enemy, allies, alliance"),
    },
    _WEATHER: {
        **_w(3, "forecast, forecasters, meteorologist, meteorologists, temperatures, "
               "rainfall, snowfall, heatwave, heat wave, cold snap, thunderstorm, "
               "thunderstorms, weather service, met office, degrees celsius, "
               "degrees fahrenheit, humidity, showers, blizzard, frost, sunny, cloudy"),
        **_w(2, "weather, rain, snow, storm, storms, wind, winds, winter storm, temperature, "
               "cold, heat, warm, dry, wet, ice, fog, gusts, inches of rain"),
        **_w(1, "morning, afternoon, overnight, weekend, cloud, clouds, sun"),
    },
}

# Wire vocabulary, written by hand like the table above (issue 18): the words of short
# agency items (headline + one sentence), where one or two terms decide. Companies,
# products and institutions that the news of the last decades names again and again,
# and the trade words of sport, markets and technology. No corpus was counted for it.
_EN_WIRE: dict[str, dict[str, float]] = {
    _SPORT: {
        **_w(3, "quarterbacks, linebacker, linebackers, wide receiver, running back, "
               "field goal, rushing yards, passing yards, interception, interceptions, "
               "sacks, end zone, kickoff, shutout, no-hitter, homer, homers, home runs, "
               "rbi, rbis, strikeouts, bullpen, pennant, world series, al east, nl east, "
               "wild card, yankees, red sox, mets, dodgers, cubs, cardinals, astros, "
               "braves, giants, patriots, steelers, eagles, cowboys, packers, colts, "
               "raiders, celtics, knicks, pistons, spurs, bulls, heat, nets, rockets, "
               "manchester united, man utd, chelsea, arsenal, liverpool, real madrid, "
               "barcelona, juventus, bayern, ac milan, inter milan, "
               "pga, pga tour, ryder cup, us open, french open, australian open, "
               "masters, seeded, top seed, second seed, sets, set point, match point, "
               "ace, aces, heavyweight, boxing, bout, marathon, cycling, tour de france, "
               "sprinter, sprint, gold medal, silver medal, bronze medal, medals, medalist, "
               "relay, freestyle, gymnastics, decathlon, olympian, world record, "
               "qualifier, knockout, finals, runner-up, golfer, golfers, birdie, birdies, "
               "bogey, par, fairway, putt, stroke lead, rounds, tennis player, "
               "sophomore, freshman, junior, senior day, bowl game, ncaa, big ten, big 12, "
               "sec, acc, pac-10, heisman, tailback, coached, coaching, "
               "striker, winger, goalless, equaliser, equalizer, penalty, penalties, "
               "free kick, red card, yellow card, relegation, promoted, fixture, "
               "motogp, f1, ferrari, schumacher, pit stop, pole, podium, lap record, "
               "nascar, indy, daytona, cricket, test match, one-day, runs, wickets, "
               "test series, ashes, rugby union, six nations, tries, fly-half, scrum, "
               "hockey, nhl lockout, puck, goaltender, goalie, stanley cup, "
               "skater, skating, ski, skiing, slalom, downhill, swimming, swimmers, "
               "athletics, doping, drug test, steroids, wrestler, wrestling, jockey, "
               "derby, horse racing, thoroughbred, sprinted, rallied, comeback, "
               "unbeaten, winless, losing streak, winning streak, standings, division, "
               "conference, seed, third-seeded, draft pick, free agent, trade deadline, "
               "mvp, all-star, hall of fame, reigning champion, defending champion, "
               "lineup, starting lineup, scoreless, tied, tie, overtime, extra innings, "
               "halftime, second half, first half, fourth quarter, third quarter, "
               "footballer, footballers, world rankings, "
               "first round, first-round, second round, three-set, lineman, ballpark, "
               "bcs, bowl championship series, rally driver, test cricket, sports network, "
               "espn, si.com, sportsticker"),
        **_w(2, "beat, beats, beating, defeat, defeats, edged, routed, thrashed, "
               "crushed, trounced, downed, drubbing, rout, victories, wins over, "
               "win over, loss to, lost to, home, road, away, opener, season opener, "
               "coach, manager, boss, skipper, captain, squad, star, veteran, rookie, "
               "ankle, knee, hamstring, sidelined, injured list, disabled list, "
               "signed, re-signed, contract extension, retire, retirement, "
               "cup, trophy, championships, crown, title defense, qualify, qualified, "
               "olympic games, athens games, games, sporting, sportsman, spectators"),
    },
    _SCITECH: {
        **_w(3, "ibm, intel, amd, oracle, sun microsystems, hewlett-packard, hp, dell, "
               "cisco, yahoo, ebay, aol, netscape, nokia, motorola, ericsson, samsung, "
               "sony, nintendo, sega, atari, qualcomm, texas instruments, nvidia, "
               "linux, unix, open source, open-source, windows, windows xp, longhorn, "
               "office suite, browser, browsers, web browser, firefox, mozilla, "
               "internet explorer, spam, spammers, virus, viruses, worm, worms, "
               "spyware, adware, malware, phishing, trojan, hacker, hacking, e-mail, "
               "email, broadband, wi-fi, wifi, wimax, voip, bluetooth, search engine, "
               "search engines, web site, web sites, website, websites, web, download, "
               "downloads, downloading, ipod, itunes, napster, kazaa, peer-to-peer, "
               "file-sharing, file sharing, piracy, pirated, desktop, desktops, server, "
               "servers, database, databases, storage, chipmaker, chipmakers, "
               "microprocessor, microprocessors, pentium, opteron, supercomputer, "
               "supercomputers, computing, programmers, programming, source code, "
               "operating system, operating systems, patch, patches, security flaw, "
               "vulnerability, vulnerabilities, bug, bugs, firewall, encryption, "
               "cell phone, cell phones, cellphone, mobile phone, mobile phones, handset, "
               "handsets, wireless carrier, text messaging, camera phone, pda, palm, "
               "blackberry, gps, satellite radio, satellite, satellites, tivo, dvd, "
               "dvds, hdtv, flat-panel, plasma, lcd, video games, video game, gamers, "
               "halo, game console, consoles, xbox live, psp, nintendo ds, "
               "space station, space shuttle, shuttle, hubble, cassini, titan, "
               "rover, rovers, probe, spaceship, space agency, esa, astronomy, "
               "astronomer, cosmic, solar system, dinosaur, dinosaurs, fossils, "
               "genetic, genes, gene, genetically, cloning, cloned, stem cell, "
               "stem cells, species, biologists, physicist, physicists, chemist, "
               "nanotechnology, robotics, researchers say, scientists say, study finds, "
               "journal nature, journal science, climate scientists, global warming, "
               "greenhouse, ozone, arctic, antarctic, glacier, glaciers, volcanoes, "
               "tech, techweb, cnet, zdnet, pcworld, eweek, infoworld, newsfactor, "
               "internet users, web users, online service, blog, blogs, bloggers, "
               "blogging, rss, podcasting, google search, gmail, msn, aim, skype, "
               "silicon, gadgets, gizmo, digital music, digital camera, digital cameras, "
               "megapixel, high-definition, wireless networks, networking, "
               "intellectual property, patent, patents, domain name, domain names, "
               "icann, w3c, ieee, internet service provider, isp, "
               "software giant, software maker, electronic voting, voting machines, "
               "telephony, internet telephony, nobel prize in physics, nobel prize in "
               "chemistry, brain scan, embryos, endangered species"),
        **_w(2, "users, online, computer, pc, pcs, laptops, notebook, notebooks, "
               "technology, technologies, software maker, chip maker, tech company, "
               "technology company, internet company, web company, "
               "research, researchers, scientist, scientists, lab, laboratory, "
               "space, launch, launched, mission, earth, sun, star, stars, "
               "nature, evolution, ancient, discovered, discovery, found, "
               "electronics, consumer electronics, device, devices, gadget, "
               "upgrade, release, released, beta, version, feature, features, "
               "microsoft, google, apple, sun, novell, red hat, sap, peoplesoft, "
               "verisign, symantec, mcafee, macromedia, adobe, realnetworks, "
               "amazon.com, salesforce, lenovo, gateway, transmeta"),
    },
    _ECONOMY: {
        **_w(3, "crude, crude oil, barrel, barrels, opec, oil price, oil futures, "
               "futures, treasuries, treasury, bond, bonds, yield, yields, yen, "
               "currencies, exchange rate, fed, rate hike, rate cut, rates, "
               "central bankers, consumer prices, consumer confidence, retail sales, "
               "jobless claims, payrolls, trade deficit, current account, "
               "bankruptcy, chapter 11, bankrupt, creditors, takeover, takeover bid, "
               "hostile bid, buyout, acquire, acquires, acquired, acquiring, to buy, "
               "agreed to buy, stake, shareholder, stockholders, bid, bidder, "
               "profit warning, net income, net loss, per share, a share, earnings "
               "per share, outlook, forecasts, guidance, results, third-quarter, "
               "second-quarter, fourth-quarter, first-quarter, fiscal year, "
               "sales, quarterly profit, quarterly earnings, revenue rose, "
               "stock price, share price, stocks rose, stocks fell, shares rose, "
               "shares fell, blue chips, blue-chip, ftse, nikkei, dax, cac, "
               "s&p, standard & poor's, moody's, credit rating, downgrade, upgrade, "
               "analyst, brokerage, hedge fund, mutual fund, mutual funds, pension, "
               "sec, securities and exchange commission, securities, regulators, "
               "antitrust, monopoly, audit, accounting, auditors, sarbanes-oxley, "
               "wal-mart, walmart, target, kmart, sears, home depot, costco, "
               "general motors, gm, ford, chrysler, daimlerchrysler, toyota, honda, "
               "nissan, volkswagen, automakers, car maker, carmaker, carmakers, "
               "delta, united airlines, us airways, american airlines, airlines, "
               "carrier, carriers, fares, boeing, airbus, exxon, exxonmobil, bp, "
               "shell, chevrontexaco, chevron, citigroup, jp morgan, jpmorgan, "
               "goldman sachs, morgan stanley, merrill lynch, aig, fannie mae, "
               "freddie mac, enron, worldcom, tyco, halliburton, pfizer, merck, "
               "drugmaker, drugmakers, pharmaceutical, pharmaceuticals, "
               "layoffs, job cuts, cut jobs, restructuring, cost-cutting, "
               "ceo, chairman, chief financial officer, cfo, board of directors, "
               "wholesale, inventories, factory, factories, output, gross domestic "
               "product, economists, economist, imf, world bank, wto, g7, g8, "
               "deficit, surplus, tax cut, tax cuts, taxes, pension fund, "
               "mortgage rates, home sales, housing starts, real estate, insurer, "
               "insurers, insurance, reinsurance, telecom, telecoms, verizon, at&t, "
               "sbc, sprint, nextel, comcast, time warner, viacom, disney, news corp, "
               "vivendi, euro zone, eurozone, stock, nyse, new york stock exchange, "
               "investment bank, private equity, venture capital, ipo, initial public "
               "offering, offering, retailer, retailers, supermarket, grocer, brewer, "
               "tobacco, steel, steelmaker, mining, miner, commodity, commodities, "
               "gold price, copper, aluminium, aluminum, natural gas, refinery, "
               "refiners, gasoline, heating oil, energy prices, utility, utilities"),
        **_w(2, "company, companies, corp, corporation, inc, ltd, plc, group, holdings, "
               "unit, subsidiary, division, maker, producer, supplier, suppliers, "
               "profit, profits, loss, losses, revenue, revenues, earnings, quarter, "
               "billion, million, percent, cents, dollar, dollars, euros, pounds, "
               "investors, market, markets, trading, traders, rose, fell, slipped, "
               "gained, climbed, dropped, declined, surged, slumped, tumbled, jumped, "
               "higher, lower, record high, deal, agreement, merger, merge, "
               "billion deal, jobs, workers, employees, prices, price, demand, "
               "economy, economic, growth, expansion, slowdown, spending"),
    },
    _POLITICS: {
        **_w(3, "kerry, bush, president bush, george w. bush, john kerry, cheney, "
               "edwards, white house, republican convention, democratic convention, "
               "electoral, polling, poll, election campaign, campaign trail, "
               "prime minister, premier, chancellor, foreign ministry, "
               "parliamentary, lawmakers, legislators, senate, house of representatives, "
               "blair, putin, chirac, schroeder, koizumi, sharon, arafat, abbas, "
               "hu jintao, wen jiabao, annan, kofi annan, u.n., un security council, "
               "nuclear program, nuclear programme, uranium enrichment, iaea, "
               "talks, negotiations, diplomats, foreign ministers, ambassadors, "
               "opposition leader, ruling party, interim government, elections "
               "commission, vote count, inauguration, sworn in, resigned, resignation"),
        **_w(2, "leader, leaders, minister, president, government, officials, official, "
               "said on, spokesman, country, nation, nations, state, capital, "
               "european, eu, african union, arab league, delegation, visit, "
               "palestinian, palestinians, israel, iran, north korea, pakistan, "
               "india, china, chinese, japan, russia, russian, ukraine, venezuela, "
               "sudan, darfur, haiti, afghanistan, lebanon, syria, egypt, saudi, "
               "turkey, indonesia, philippines, nepal, sri lanka, zimbabwe, nigeria, "
               "kenya, congo, ivory coast, cuba, colombia, mexico, brazil"),
    },
    _CONFLICT: {
        **_w(3, "iraqi, iraqis, baghdad, fallujah, falluja, najaf, mosul, ramadi, "
               "samarra, insurgency, insurgent, suicide bomber, suicide bombing, "
               "car bomb, roadside bomb, gunmen, kidnappers, beheaded, beheading, "
               "hamas, hezbollah, al qaeda, al-qaida, bin laden, zarqawi, sadr, "
               "militiamen, marines, u.s. troops, us troops, u.s. forces, coalition "
               "forces, peacekeepers, peacekeeping, airstrike, air strike, air strikes, "
               "shelled, raid, raids, gunfire, gunbattle, clashes, killed in, "
               "wounded in, west bank, gaza strip, chechnya, chechen, kashmir, "
               "maoist, maoists, separatist, separatists, guerrillas, guerrilla"),
    },
    _DISASTER: {
        **_w(3, "hurricanes, hurricane ivan, hurricane frances, hurricane charley, "
               "hurricane jeanne, typhoons, quake, quakes, magnitude, aftershock, "
               "aftershocks, floodwaters, mudslide, mudslides, death toll rose, "
               "survivor, stranded, rescuers, relief workers, aid workers, "
               "plane crashed, crashed, derailed, ferry, capsized, sank, mine blast, "
               "mine explosion, miners trapped, trapped, fire broke out"),
    },
    _HEALTH: {
        **_w(3, "bird flu, avian flu, flu vaccine, flu shots, vaccine shortage, "
               "hiv, aids, sars, polio, malaria, tuberculosis, ebola, outbreak, "
               "epidemic, pandemic, fda, food and drug administration, vioxx, "
               "painkiller, cholesterol, obesity, diabetes, heart disease, "
               "clinical trial, clinical trials, drug approval, who, world health "
               "organization, cdc, patients, hospitals, doctors, medicare, medicaid"),
    },
}


def _merge(into: dict[str, dict[str, float]], extra: dict[str, dict[str, float]]) -> None:
    """Add `extra`'s terms; a term already in `into` keeps the higher weight."""
    for code, terms in extra.items():
        slot = into.setdefault(code, {})
        for term, weight in terms.items():
            slot[term] = max(slot.get(term, 0.0), weight)


_merge(EN, _EN_WIRE)

DE: dict[str, dict[str, float]] = {
    _ARTS: _w(2, "film, kino, musik, album, konzert, schauspieler, schauspielerin, sänger, "
                 "sängerin, roman, ausstellung, museum, theater, festival, regisseur, serie"),
    _CRIME: _w(2, "polizei, festgenommen, mord, gericht, staatsanwaltschaft, angeklagte, "
                  "angeklagter, urteil, prozess, haft, täter, opfer, diebstahl, betrug"),
    _DISASTER: _w(2, "erdbeben, überschwemmung, hochwasser, waldbrand, unglück, unfall, "
                     "feuerwehr, rettungskräfte, verletzte, evakuiert"),
    _ECONOMY: _w(2, "wirtschaft, unternehmen, aktien, börse, umsatz, gewinn, inflation, "
                    "zinsen, bank, banken, konzern, anleger, euro, milliarden, millionen, "
                    "handel, export, markt, preise"),
    _EDUCATION: _w(2, "schule, schulen, schüler, lehrer, universität, studenten, "
                      "studierende, bildung, unterricht, hochschule"),
    _ENVIRONMENT: _w(2, "klimawandel, klima, umwelt, emissionen, klimaschutz, erneuerbare, "
                        "artenschutz, luftverschmutzung"),
    _HEALTH: _w(2, "patienten, krankenhaus, ärzte, arzt, impfstoff, krankheit, virus, "
                   "gesundheit, behandlung, klinik, pflege, krebs"),
    _LABOUR: _w(2, "streik, gewerkschaft, beschäftigte, arbeitnehmer, arbeitslosigkeit, "
                   "mindestlohn, löhne, arbeitsplätze, tarif"),
    _LIFESTYLE: _w(2, "rezept, reise, urlaub, mode, restaurant, küche, hotel, auto"),
    _POLITICS: _w(2, "regierung, bundestag, kanzler, kanzlerin, minister, ministerin, partei, "
                     "wahl, wahlen, abgeordnete, koalition, opposition, präsident, spd, cdu, "
                     "grünen, fdp, afd, gesetz, bundesregierung, diplomatie"),
    _RELIGION: _w(2, "kirche, papst, bischof, gläubige, moschee, religion, glaube, gottesdienst"),
    _SCITECH: _w(2, "forscher, wissenschaftler, studie, technologie, software, internet, "
                    "smartphone, computer, daten, raumfahrt, digital, künstliche intelligenz"),
    _SOCIETY: _w(2, "gesellschaft, flüchtlinge, migration, armut, soziale, familien"),
    _SPORT: _w(2, "spiel, tor, tore, mannschaft, trainer, bundesliga, fußball, saison, "
                  "spieler, sieg, niederlage, meisterschaft, verein, olympia, weltmeister"),
    _CONFLICT: _w(2, "krieg, soldaten, militär, armee, angriff, rebellen, terroristen, terror, "
                     "waffenruhe, truppen, bundeswehr, raketen, konflikt"),
    _WEATHER: _w(2, "wetter, regen, schnee, temperaturen, gewitter, sturm, hitze, grad, "
                    "wetterdienst"),
}

FR: dict[str, dict[str, float]] = {
    _ARTS: _w(2, "film, cinéma, musique, album, concert, acteur, actrice, chanteur, "
                 "chanteuse, roman, exposition, musée, théâtre, festival, réalisateur"),
    _CRIME: _w(2, "police, interpellé, meurtre, tribunal, procureur, procès, prison, "
                  "enquête, suspect, victime, vol, escroquerie, condamné, garde à vue"),
    _DISASTER: _w(2, "séisme, inondations, incendie, catastrophe, accident, pompiers, "
                     "secours, blessés, évacués, ouragan"),
    _ECONOMY: _w(2, "économie, entreprise, entreprises, bourse, actions, chiffre d'affaires, "
                    "bénéfice, inflation, banque, investisseurs, euros, milliards, croissance, "
                    "marché, prix, commerce"),
    _EDUCATION: _w(2, "école, écoles, élèves, enseignants, professeurs, université, "
                      "étudiants, éducation, lycée, collège, baccalauréat"),
    _ENVIRONMENT: _w(2, "climat, réchauffement climatique, environnement, émissions, "
                        "pollution, biodiversité, énergies renouvelables"),
    _HEALTH: _w(2, "patients, hôpital, médecins, médecin, vaccin, maladie, virus, santé, "
                   "traitement, cancer, soins, infirmiers"),
    _LABOUR: _w(2, "grève, syndicats, syndicat, salariés, chômage, salaires, emploi, "
                   "licenciements, retraites"),
    _LIFESTYLE: _w(2, "recette, voyage, vacances, mode, restaurant, cuisine, hôtel"),
    _POLITICS: _w(2, "gouvernement, président, ministre, députés, assemblée nationale, sénat, "
                     "élection, élections, parti, opposition, premier ministre, élysée, "
                     "politique, loi, diplomatie"),
    _RELIGION: _w(2, "église, pape, évêque, fidèles, mosquée, religion, foi, prière"),
    _SCITECH: _w(2, "chercheurs, scientifiques, étude, technologie, logiciel, internet, "
                    "smartphone, ordinateur, données, spatial, numérique, intelligence "
                    "artificielle"),
    _SOCIETY: _w(2, "société, migrants, réfugiés, pauvreté, immigration, associations"),
    _SPORT: _w(2, "match, but, buts, équipe, entraîneur, ligue, football, saison, joueurs, "
                  "joueur, victoire, défaite, championnat, club, coupe du monde"),
    _CONFLICT: _w(2, "guerre, soldats, militaire, armée, attaque, rebelles, terroristes, "
                     "terrorisme, cessez-le-feu, troupes, frappes, conflit"),
    _WEATHER: _w(2, "météo, pluie, neige, températures, orages, tempête, chaleur, degrés, "
                    "vigilance, prévisions"),
}

ES: dict[str, dict[str, float]] = {
    _ARTS: _w(2, "película, cine, música, álbum, concierto, actor, actriz, cantante, "
                 "novela, exposición, museo, teatro, festival, director, serie"),
    _CRIME: _w(2, "policía, detenido, detenidos, asesinato, tribunal, fiscal, juicio, "
                  "prisión, cárcel, investigación, sospechoso, víctima, robo, estafa"),
    _DISASTER: _w(2, "terremoto, sismo, inundaciones, incendio, catástrofe, accidente, "
                     "bomberos, rescate, heridos, evacuados, huracán"),
    _ECONOMY: _w(2, "economía, empresa, empresas, bolsa, acciones, ventas, beneficio, "
                    "inflación, banco, inversores, euros, millones, crecimiento, mercado, "
                    "precios, comercio"),
    _EDUCATION: _w(2, "escuela, escuelas, alumnos, estudiantes, profesores, docentes, "
                      "universidad, educación, colegio"),
    _ENVIRONMENT: _w(2, "cambio climático, clima, medio ambiente, emisiones, contaminación, "
                        "biodiversidad, energías renovables"),
    _HEALTH: _w(2, "pacientes, hospital, médicos, médico, vacuna, enfermedad, virus, salud, "
                   "tratamiento, cáncer, sanitario"),
    _LABOUR: _w(2, "huelga, sindicatos, sindicato, trabajadores, desempleo, paro, salario, "
                   "salarios, empleo, despidos"),
    _LIFESTYLE: _w(2, "receta, viaje, vacaciones, moda, restaurante, cocina, hotel"),
    _POLITICS: _w(2, "gobierno, presidente, ministro, ministra, diputados, congreso, senado, "
                     "elecciones, partido, oposición, política, ley, diplomacia"),
    _RELIGION: _w(2, "iglesia, papa, obispo, fieles, mezquita, religión, fe, oración"),
    _SCITECH: _w(2, "investigadores, científicos, estudio, tecnología, software, internet, "
                    "teléfono, ordenador, computadora, datos, espacial, digital, "
                    "inteligencia artificial"),
    _SOCIETY: _w(2, "sociedad, migrantes, refugiados, pobreza, inmigración, familias"),
    _SPORT: _w(2, "partido, gol, goles, equipo, entrenador, liga, fútbol, temporada, "
                  "jugadores, jugador, victoria, derrota, campeonato, club, mundial"),
    _CONFLICT: _w(2, "guerra, soldados, militar, ejército, ataque, rebeldes, terroristas, "
                     "terrorismo, alto el fuego, tropas, bombardeos, conflicto"),
    _WEATHER: _w(2, "tiempo, lluvia, nieve, temperaturas, tormentas, tormenta, calor, "
                    "grados, aemet, pronóstico"),
}

LEXICONS: dict[str, dict[str, dict[str, float]]] = {"en": EN, "de": DE, "fr": FR, "es": ES}
