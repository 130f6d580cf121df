import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerApp
import LedgerDomain
import LedgerProjections
import LedgerValues
import NIOCore
import Testing

@testable import LedgerServer

@Suite("The dashboard")
struct DashboardTests {
    @Test("the dashboard says its language and marks English as English")
    func language() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/", method: .get, headers: office.headers(.clerk)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let page = text(response)
                #expect(page.hasPrefix("<!DOCTYPE html>\n<html lang=\"zh-CN\">"))
                #expect(page.contains("<span lang=\"en\">The four-type federation indices</span>"))
                #expect(page.contains("<title>"))
            }
        }
    }

    @Test("the dashboard has one h1, section headings, and tables with captions and header cells")
    func structure() async throws {
        try await withOffice { office, client in
            let page = try await client.execute(
                uri: "/?asOf=2024-12-31", method: .get, headers: office.headers(.auditor)
            ) {
                text($0)
            }
            #expect(page.components(separatedBy: "<h1").count == 2)
            #expect(page.components(separatedBy: "<h2").count >= 5)
            #expect(page.contains("<caption>"))
            #expect(page.contains("<th scope=\"col\""))
            #expect(page.contains("<th scope=\"row\">"))
            #expect(page.contains("<main id=\"main\""))
            #expect(page.contains("<a class=\"skip\" href=\"#main\">"))
            // Every KPI of the catalogue, by its Chinese name.
            for entry in try KPIReport.loadCatalogue().entries {
                #expect(page.contains(entry.label.chinese), "\(entry.kpi)")
            }
            // The worked example's service index.
            #expect(page.contains("<p class=\"big\">25.0<span class=\"of\"> / 100</span></p>"))
        }
    }

    @Test("every chart is an image with a title and a description that states its figures")
    func chartAlternatives() async throws {
        try await withOffice { office, client in
            let page = try await client.execute(uri: "/?asOf=2024-12-31", method: .get, headers: office.headers(.clerk))
            {
                text($0)
            }
            let charts = page.components(separatedBy: "<svg").dropFirst()
            #expect(charts.count >= 4 + 8)
            for chart in charts {
                #expect(chart.contains("role=\"img\""))
                #expect(chart.contains("<title"))
                #expect(chart.contains("aria-labelledby="))
            }
            #expect(page.contains("<desc id=\"chart-registered_persons-desc\">"))
            #expect(page.contains("马陆镇 1"))
        }
    }

    @Test("the as-of and known-at controls are labelled fields of a form that re-renders the page")
    func controls() async throws {
        try await withOffice { office, client in
            let page = try await client.execute(
                uri: "/?asOf=2024-12-31&knownAt=2025-01-15T08:00", method: .get, headers: office.headers(.clerk)
            ) { text($0) }
            #expect(page.contains("<form method=\"get\" action=\"/\""))
            #expect(page.contains("<label for=\"asOf\">"))
            #expect(page.contains("<label for=\"knownAt\">"))
            #expect(page.contains("id=\"asOf\" name=\"asOf\" value=\"2024-12-31\""))
            #expect(page.contains("value=\"2025-01-15T08:00\""))
            // 08:00 in Shanghai is midnight UTC: the worked example's first column.
            #expect(page.contains("known at</span> <strong>2025-01-15T00:00:00.000Z</strong>"))
            #expect(page.contains("through seq</span> <strong>7</strong>"))
            #expect(page.contains(":focus-visible"))
        }
    }

    @Test("without the local flag the dashboard needs a token; with it, this machine's browser needs none")
    func localDashboard() async throws {
        try await withOffice(settings: ServerSettings(port: 0), setup: .live) { _, client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .unauthorized) }
        }
        try await withOffice(settings: ServerSettings(port: 0, allowsLocalDashboard: true), setup: .live) {
            _, client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            // Only the dashboard: the API still needs a token.
            try await client.execute(uri: "/kpis", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    @Test("a browser signs in with a token and reads the dashboard by its cookie; the API ignores the cookie")
    func signIn() async throws {
        try await withOffice { office, client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(text(response).contains("<label for=\"token\">"))
                #expect(text(response).hasPrefix("<!DOCTYPE html>\n<html lang=\"zh-CN\">"))
            }
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: "/sign-in", method: .post, headers: form, body: body("token=forged")) {
                response in
                #expect(response.status == .unauthorized)
                #expect(text(response).contains("role=\"alert\""))
            }
            let secret = office.secrets[.auditor]!
            let cookie = try await client.execute(
                uri: "/sign-in", method: .post, headers: form, body: body("token=\(secret)")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/")
                return response.headers[.setCookie] ?? ""
            }
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let sent = String(cookie.prefix { $0 != ";" })
            try await client.execute(uri: "/", method: .get, headers: [.cookie: sent]) { response in
                #expect(response.status == .ok)
                #expect(text(response).contains("四型残联指数"))
            }
            try await client.execute(uri: "/kpis", method: .get, headers: [.cookie: sent]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test("the page escapes what it shows")
    func escaping() {
        #expect(escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
    }
}
