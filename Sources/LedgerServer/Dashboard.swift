import Foundation
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues

/// The KPI dashboard of `GET /`: one page of server-rendered HTML, with no
/// external assets, in Chinese with English beside it.
///
/// Made to meet WCAG 2.1 AA: the page and every English phrase say their
/// language; headings follow the page's structure; figures are in tables with
/// captions and header cells; every chart is an image with a title and a
/// description that states its figures; colours have at least 4.5:1 contrast
/// against the background; the controls are labelled form fields that work
/// from the keyboard, with a visible focus and a link to skip to the figures.
struct Dashboard {
    /// The KPI document shown.
    let document: KPIDocument
    /// The open cases shown.
    let caseload: Caseload
    /// The KPIs' names and targets.
    let catalogue: KPICatalogue
    /// The district and its units, district first, with their names.
    let units: [(code: String, label: Label)]
    /// The catalogue's labels, for service types.
    let vocabulary: Vocabulary
    /// The as-of date as asked (nil: today).
    let askedAsOf: String?
    /// The known-at instant as asked, in the form's local (Shanghai) time.
    let askedKnownAt: String?

    /// The KPIs drawn by unit, as bar charts.
    static let chartedKPIs: [KPI] = [
        .registeredPersons, .employmentRate, .rehabCoverage, .assistiveDeviceRate, .healthCheckRate,
        .familyDoctorRate, .openCases, .onlineShare,
    ]

    /// The page.
    var html: String {
        var page = """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>嘉定区残联服务台账 · 指标看板 – Sunledger KPI dashboard</title>
            <style>\(Dashboard.style)</style>
            </head>
            <body>
            <a class="skip" href="#main">跳到主要内容 <span lang="en">Skip to the figures</span></a>
            <header>
            <h1>嘉定区残疾人联合会 服务台账 <span lang="en">Jiading District Disabled Persons' Federation: services ledger</span></h1>
            <p class="stamp">截至 <span lang="en">as of</span> <strong>\(document.asOf)</strong>；\(knownAtPhrase)；记录至 <span lang="en">through seq</span> <strong>\(document.throughSeq)</strong></p>
            </header>

            """
        page += form
        page += "<main id=\"main\" tabindex=\"-1\">\n"
        page += indices
        page += kpiTable
        page += unitCharts
        page += caseloadTable
        page += "</main>\n"
        page += """
            <footer><p>数据来自哈希链台账；同一查询永远给出同样的数字。<span lang="en">Figures are folded from the hash-chained ledger; the same query always gives the same numbers.</span></p></footer>
            </body>
            </html>

            """
        return page
    }

    private var knownAtPhrase: String {
        guard let knownAt = document.knownAt else {
            return "已知全部记录 <span lang=\"en\">everything recorded</span>"
        }
        return "已知时点 <span lang=\"en\">known at</span> <strong>\(knownAt)</strong>"
    }

    private var form: String {
        """
        <form method="get" action="/" class="query" aria-labelledby="query-title">
        <h2 id="query-title">查询 <span lang="en">Query</span></h2>
        <div class="field"><label for="asOf">截至日期 <span lang="en">As-of date</span></label>
        <input type="date" id="asOf" name="asOf" value="\(escape(askedAsOf ?? document.asOf.description))" aria-describedby="asOf-hint">
        <span id="asOf-hint" class="hint">业务发生的日期 <span lang="en">the date the figures are for</span></span></div>
        <div class="field"><label for="knownAt">已知时点（上海时间） <span lang="en">Known at (Shanghai time)</span></label>
        <input type="datetime-local" id="knownAt" name="knownAt" step="1" value="\(escape(askedKnownAt ?? ""))" aria-describedby="knownAt-hint">
        <span id="knownAt-hint" class="hint">留空：全部记录 <span lang="en">empty: everything recorded</span></span></div>
        <button type="submit">刷新 <span lang="en">Show</span></button>
        </form>

        """
    }

    // MARK: The four indices

    private var indices: String {
        var html = """
            <section aria-labelledby="indices-title">
            <h2 id="indices-title">四型残联指数 <span lang="en">The four-type federation indices</span></h2>
            <ul class="indices">

            """
        for result in document.indices {
            let label = catalogue.indexLabels[result.index]!
            let value = result.value.map { String(format: "%.1f", $0) } ?? "–"
            let width = (result.value ?? 0) * 2
            let id = "index-\(result.index.rawValue)"
            let description =
                result.value.map { "\(label.english) index \(String(format: "%.1f", $0)) of 100" }
                ?? "\(label.english) index: no figure"
            html += """
                <li class="index">
                <h3 id="\(id)">\(escape(label.chinese)) <span lang="en">\(escape(label.english))</span></h3>
                <p class="big">\(value)<span class="of"> / 100</span></p>
                <svg width="200" height="14" viewBox="0 0 200 14" role="img" aria-labelledby="\(id)-t \(id)-d">
                <title id="\(id)-t">\(escape(label.chinese))指数</title>
                <desc id="\(id)-d" lang="en">\(escape(description))</desc>
                <rect x="0" y="0" width="200" height="14" class="track"/>
                <rect x="0" y="0" width="\(format(width))" height="14" class="bar"/>
                </svg>
                </li>

                """
        }
        html += "</ul>\n</section>\n"
        return html
    }

    // MARK: Every KPI against its target

    private var kpiTable: String {
        var html = """
            <section aria-labelledby="kpis-title">
            <h2 id="kpis-title">指标与目标 <span lang="en">KPIs against their targets</span></h2>
            <table>
            <caption>全区指标（计数目标按日期折算） <span lang="en">District figures; count targets are pro-rated to the as-of date</span></caption>
            <thead><tr><th scope="col">指标 <span lang="en">KPI</span></th><th scope="col" class="num">全区 <span lang="en">District</span></th><th scope="col" class="num">目标 <span lang="en">Target</span></th><th scope="col">完成度 <span lang="en">Score</span></th></tr></thead>
            <tbody>

            """
        for result in document.figures.results {
            let entry = catalogue.entry(result.kpi)
            let member = document.indices.lazy.flatMap(\.members).first { $0.kpi == result.kpi }
            var target = "–"
            var score = "–"
            if let member {
                target = result.kpi.kind == .rate ? percent(member.goal) : grouped(member.goal)
                if let value = member.score {
                    let id = "score-\(result.kpi.rawValue)"
                    score = """
                        <svg width="120" height="12" viewBox="0 0 120 12" role="img" aria-labelledby="\(id)"><title id="\(id)">\(String(format: "%.0f", value * 100))%</title><rect x="0" y="0" width="120" height="12" class="track"/><rect x="0" y="0" width="\(format(value * 120))" height="12" class="bar"/></svg> \(String(format: "%.0f%%", value * 100))
                        """
                }
            }
            html += """
                <tr><th scope="row">\(escape(entry.label.chinese)) <span lang="en">\(escape(entry.label.english))</span></th><td class="num">\(reading(result.district))</td><td class="num">\(target)</td><td>\(score)</td></tr>

                """
        }
        html += "</tbody>\n</table>\n</section>\n"
        return html
    }

    // MARK: By unit

    private var unitCharts: String {
        let unitList = units.filter { $0.code != units.first?.code }
        var html = """
            <section aria-labelledby="units-title">
            <h2 id="units-title">各街镇 <span lang="en">By unit</span></h2>
            <div class="charts">

            """
        for kpi in Dashboard.chartedKPIs {
            let result = document.figures[kpi]
            let entry = catalogue.entry(kpi)
            // Each unit's value (a bar's length) and how it reads.
            let values = unitList.map { unit -> (Label, Double?, String) in
                let figure = result.byUnit[unit.code]
                if kpi.kind == .rate { return (unit.label, figure?.value, figure?.percentage ?? "–") }
                let count = Double(figure?.numerator ?? 0)
                return (unit.label, count, grouped(count))
            }
            let top = max(values.compactMap(\.1).max() ?? 0, kpi.kind == .rate ? 1 : 1)
            let rowHeight = 22
            let height = rowHeight * values.count + 8
            let id = "chart-\(kpi.rawValue)"
            let summary = values.map { label, _, text in "\(label.chinese) \(text)" }.joined(separator: "，")
            html += """
                <figure>
                <figcaption id="\(id)-t">\(escape(entry.label.chinese)) <span lang="en">\(escape(entry.label.english))</span></figcaption>
                <svg width="460" height="\(height)" viewBox="0 0 460 \(height)" role="img" aria-labelledby="\(id)-title \(id)-desc">
                <title id="\(id)-title">\(escape(entry.label.chinese))，按街镇</title>
                <desc id="\(id)-desc">\(escape(summary))</desc>

                """
            for (row, (label, value, text)) in values.enumerated() {
                let y = 4 + row * rowHeight
                let width = (value ?? 0) / top * 250
                html += """
                    <text x="0" y="\(y + 15)" class="label">\(escape(label.chinese))</text><rect x="110" y="\(y + 3)" width="\(format(width))" height="15" class="bar"/><text x="\(format(116 + width))" y="\(y + 15)" class="value">\(text)</text>

                    """
            }
            html += "</svg>\n</figure>\n"
        }
        html += "</div>\n"
        html += unitTable(unitList)
        html += "</section>\n"
        return html
    }

    /// The figures of the charts as a table: the same numbers, for screen readers and for copying.
    private func unitTable(_ unitList: [(code: String, label: Label)]) -> String {
        var html = """
            <table>
            <caption>各街镇数据表（与上图相同） <span lang="en">The charts' figures by unit</span></caption>
            <thead><tr><th scope="col">街镇 <span lang="en">Unit</span></th>
            """
        for kpi in Dashboard.chartedKPIs {
            html += "<th scope=\"col\" class=\"num\">\(escape(catalogue.entry(kpi).label.chinese))</th>"
        }
        html += "</tr></thead>\n<tbody>\n"
        for unit in unitList {
            html +=
                "<tr><th scope=\"row\">\(escape(unit.label.chinese)) <span lang=\"en\">\(escape(unit.label.english))</span></th>"
            for kpi in Dashboard.chartedKPIs {
                let figure = document.figures[kpi].byUnit[unit.code]
                html += "<td class=\"num\">\(figure.map(reading) ?? "0")</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody>\n</table>\n"
        return html
    }

    // MARK: Caseload

    private var caseloadTable: String {
        let types = CaseServiceType.allCases
        var html = """
            <section aria-labelledby="caseload-title">
            <h2 id="caseload-title">在册个案 <span lang="en">Open cases</span></h2>
            <table>
            <caption>按街镇与服务类型，共 \(caseload.openCases) 件 <span lang="en">By unit and service type; \(caseload.openCases) in all</span></caption>
            <thead><tr><th scope="col">街镇 <span lang="en">Unit</span></th><th scope="col" class="num">合计 <span lang="en">Open</span></th>
            """
        for type in types {
            let label = vocabulary.label(type)
            html +=
                "<th scope=\"col\" class=\"num\">\(escape(label.chinese)) <span lang=\"en\">\(escape(label.english))</span></th>"
        }
        html += "</tr></thead>\n<tbody>\n"
        for unit in units.dropFirst() {
            let load = caseload.byUnit[unit.code]
            html +=
                "<tr><th scope=\"row\">\(escape(unit.label.chinese)) <span lang=\"en\">\(escape(unit.label.english))</span></th><td class=\"num\">\(load?.openCases ?? 0)</td>"
            for type in types {
                html += "<td class=\"num\">\(load?.byServiceType[type.rawValue] ?? 0)</td>"
            }
            html += "</tr>\n"
        }
        html +=
            "<tr class=\"total\"><th scope=\"row\">全区 <span lang=\"en\">District</span></th><td class=\"num\">\(caseload.openCases)</td>"
        for type in types {
            html += "<td class=\"num\">\(caseload.byServiceType[type.rawValue] ?? 0)</td>"
        }
        html += "</tr>\n</tbody>\n</table>\n</section>\n"
        return html
    }

    // MARK: Signing in

    /// The page a browser without a valid token gets: a form to give one.
    static func signInPage(problem: String?) -> String {
        let alert = problem.map { "<p class=\"problem\" role=\"alert\">\(escape($0))</p>\n" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>登录指标看板 – Sign in to the Sunledger dashboard</title>
            <style>\(style)</style>
            </head>
            <body>
            <main id="main">
            <h1>嘉定区残联服务台账 指标看板 <span lang="en">Sunledger KPI dashboard</span></h1>
            <p>请输入访问令牌（任何可读角色）。<span lang="en">Give an access token of any role that may read.</span></p>
            \(alert)<form method="post" action="/sign-in" class="query">
            <div class="field"><label for="token">访问令牌 <span lang="en">Access token</span></label>
            <input type="password" id="token" name="token" required autocomplete="off" size="66"></div>
            <button type="submit">登录 <span lang="en">Sign in</span></button>
            </form>
            </main>
            </body>
            </html>

            """
    }

    // MARK: Words and numbers

    private func reading(_ figure: Figure) -> String {
        guard let denominator = figure.denominator else { return grouped(Double(figure.numerator)) }
        return "\(figure.percentage ?? "–") (\(figure.numerator)/\(denominator))"
    }

    private func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    private func grouped(_ value: Double) -> String {
        let whole = Int64(value.rounded())
        var digits = String(abs(whole))
        var groups: [String] = []
        while digits.count > 3 {
            groups.insert(String(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(digits, at: 0)
        return (whole < 0 ? "-" : "") + groups.joined(separator: ",")
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The palette: text #1a1a1a on #ffffff (17:1), bars #1d4f91 (8.6:1), muted
    /// text #4a4a4a (8.9:1), the focus ring #b3261e (6.5:1).
    static let style = """
        :root{color-scheme:light}
        body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:1240px;padding:0 20px 40px;line-height:1.5}
        [lang="en"]{color:#4a4a4a;font-size:.9em}
        h1{font-size:1.6rem;margin:.6em 0 .2em}
        h1 [lang="en"]{display:block;font-weight:normal}
        h2{font-size:1.3rem;border-bottom:2px solid #1d4f91;padding-bottom:.2em;margin-top:1.6em}
        h3{font-size:1.05rem;margin:0}
        .stamp{margin:.2em 0 1em}
        .skip{position:absolute;left:-9999px;top:0;background:#fff;color:#1d4f91;padding:.5em 1em;border:2px solid #1d4f91}
        .skip:focus{left:10px;top:10px;z-index:1}
        a{color:#1d4f91}
        :focus-visible{outline:3px solid #b3261e;outline-offset:2px}
        .query{display:flex;flex-wrap:wrap;gap:12px 24px;align-items:flex-end;background:#f3f6fa;border:1px solid #c4cfdc;padding:12px 16px}
        .query h2{flex-basis:100%;border:0;margin:0;font-size:1.1rem}
        .field{display:flex;flex-direction:column}
        .hint{font-size:.85em;color:#4a4a4a}
        input,button{font:inherit;padding:.3em .5em;border:1px solid #5a5a5a;border-radius:3px;color:#1a1a1a;background:#fff}
        button{background:#1d4f91;color:#fff;border-color:#1d4f91;cursor:pointer}
        button [lang="en"]{color:#fff}
        .indices{list-style:none;padding:0;display:grid;grid-template-columns:repeat(4,1fr);gap:16px}
        .index{border:1px solid #c4cfdc;padding:12px;border-radius:4px}
        .big{font-size:2rem;font-weight:bold;margin:.2em 0}
        .of{font-size:1rem;font-weight:normal;color:#4a4a4a}
        .track{fill:#e4e9f0}
        .bar{fill:#1d4f91}
        table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.95rem}
        caption{text-align:left;font-weight:bold;padding:.3em 0}
        th,td{border-bottom:1px solid #c4cfdc;padding:.35em .5em;text-align:left;vertical-align:middle}
        thead th{background:#f3f6fa}
        .num{text-align:right;font-variant-numeric:tabular-nums}
        .total th,.total td{font-weight:bold;border-top:2px solid #1a1a1a}
        .charts{display:grid;grid-template-columns:repeat(2,1fr);gap:8px 24px}
        figure{margin:.6em 0}
        figcaption{font-weight:bold;margin-bottom:.3em}
        svg text{font-size:13px;fill:#1a1a1a}
        footer{margin-top:2em;font-size:.9em;color:#4a4a4a}
        .problem{color:#b3261e;font-weight:bold}
        @media (max-width:800px){.indices,.charts{grid-template-columns:1fr}}
        """
}

/// `text` with the characters HTML gives meaning to escaped.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
