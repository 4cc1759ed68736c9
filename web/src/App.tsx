import { NavLink, Navigate, Route, Routes } from "react-router";
import { logout } from "./lib/api";
import { useUser } from "./lib/useSession";
import { LoginPage } from "./pages/Login";
import { CustomersPage } from "./pages/Customers";
import { CustomerPage } from "./pages/Customer";
import { NotificationsPage } from "./pages/Notifications";
import { RulesPage } from "./pages/Rules";
import { RuleEditorPage } from "./pages/RuleEditor";
import { RewardsPage } from "./pages/Rewards";
import { IssuancesPage } from "./pages/Issuances";
import { OverviewPage } from "./pages/Overview";
import { AnalyticsPage } from "./pages/Analytics";
import { BudgetsPage } from "./pages/Budgets";
import { ChannelsPage } from "./pages/Channels";
import { WebhooksPage } from "./pages/Webhooks";
import { AccessPage } from "./pages/Access";
import { AuditPage } from "./pages/Audit";

export function App() {
  const user = useUser();
  if (!user) {
    return (
      <Routes>
        <Route path="*" element={<LoginPage />} />
      </Routes>
    );
  }
  const link = ({ isActive }: { isActive: boolean }) =>
    `rounded px-3 py-2 text-sm ${isActive ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-200"}`;
  return (
    <div className="min-h-screen">
      <header className="flex items-center gap-2 border-b border-slate-200 bg-white px-6 py-3">
        <span className="mr-6 font-semibold">Loyalty</span>
        <nav aria-label="Main" className="flex flex-wrap gap-1">
          <NavLink to="/overview" className={link}>
            Overview
          </NavLink>
          <NavLink to="/customers" className={link}>
            Customers
          </NavLink>
          <NavLink to="/rules" className={link}>
            Campaigns and rules
          </NavLink>
          <NavLink to="/rewards" className={link}>
            Rewards
          </NavLink>
          <NavLink to="/budgets" className={link}>
            Budgets
          </NavLink>
          <NavLink to="/issuances" className={link}>
            Issuances
          </NavLink>
          <NavLink to="/notifications" className={link}>
            Notifications
          </NavLink>
          <NavLink to="/analytics" className={link}>
            Analytics
          </NavLink>
          <NavLink to="/channels" className={link}>
            Channels
          </NavLink>
          {user.role === "admin" && (
            <>
              <NavLink to="/webhooks" className={link}>
                Webhooks
              </NavLink>
              <NavLink to="/access" className={link}>
                Users and keys
              </NavLink>
              <NavLink to="/audit" className={link}>
                Audit log
              </NavLink>
            </>
          )}
        </nav>
        <span className="ml-auto text-sm text-slate-600" data-testid="role">
          {user.role}
        </span>
        <button
          type="button"
          onClick={() => void logout()}
          className="rounded border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100"
        >
          Sign out
        </button>
      </header>
      <main className="mx-auto max-w-6xl p-6">
        <Routes>
          <Route path="/customers" element={<CustomersPage />} />
          <Route path="/customers/:id" element={<CustomerPage />} />
          <Route path="/rules" element={<RulesPage />} />
          <Route path="/rules/:id" element={<RuleEditorPage />} />
          <Route path="/rewards" element={<RewardsPage />} />
          <Route path="/issuances" element={<IssuancesPage />} />
          <Route path="/notifications" element={<NotificationsPage />} />
          <Route path="/overview" element={<OverviewPage />} />
          <Route path="/analytics" element={<AnalyticsPage />} />
          <Route path="/budgets" element={<BudgetsPage />} />
          <Route path="/channels" element={<ChannelsPage />} />
          {user.role === "admin" && <Route path="/webhooks" element={<WebhooksPage />} />}
          {user.role === "admin" && <Route path="/access" element={<AccessPage />} />}
          {user.role === "admin" && <Route path="/audit" element={<AuditPage />} />}
          <Route path="*" element={<Navigate to="/overview" replace />} />
        </Routes>
      </main>
    </div>
  );
}
